/* LD_PRELOAD shim (placeholder until the shim lands). */
