"""Exports: a project's jobs written as NDJSON, COCO, YOLO or Pascal VOC, streamed.

Rows come in pages from a keyset cursor (``services.exports``) and each format writes as it
goes, so memory stays flat however many jobs there are:

- ``spec``: what an export is asked for (format, job statuses, batch), validated.
- ``runner``: the loop that turns pages of jobs into a file, with progress and a bounded
  report of the jobs it had to leave out.
- ``ndjson``, ``coco``, ``yolo``, ``voc``, ``kitti3d``: one writer per format.
- ``sizes``: pixel sizes of images (from job data, a local file's header, or the first bytes
  of an http(s) image).
- ``archive``: a zip written entry by entry, its central directory spooled to disk.
- ``geometry``, ``classes``, ``names``: boxes and polygons in pixels, class ids, file names.
"""
