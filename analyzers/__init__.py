"""Pure analyses of media files. Paths and options in, frozen results out."""
