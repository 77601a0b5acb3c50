"""Text: shaping with HarfBuzz, Unicode line breaking, and glyph outlines as path data."""
