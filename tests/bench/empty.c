/* The floor for any LD_PRELOAD library: an empty one (bench only). */
int shunt_bench_empty_preload;
