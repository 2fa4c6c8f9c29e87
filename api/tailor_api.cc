// The C API (api/tailor.h) implementation: filled in with the nginx glue.
