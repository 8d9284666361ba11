//! The agent's loops.
