"""labelyard: a self-hosted data-annotation server speaking the Playment / GT Studio jobs API."""

__version__ = "0.1.0"
