"""faces: detection, tracks, mouth movement, and who is who.

Models load only here, and only when a stage runs: importing the package costs nothing.
"""
