// gemm_avx512 kernels: to be written.
