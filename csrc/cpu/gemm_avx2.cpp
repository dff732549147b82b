// gemm_avx2 kernels: to be written.
