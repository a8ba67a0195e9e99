"""The HTTP edge under api/ and web/: error rendering, envelope, body parsing, middleware."""
