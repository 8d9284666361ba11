//! predict stage.
