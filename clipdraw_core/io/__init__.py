"""Files in and out: SVG/raster import, SVG export, project files, atomic writes."""
