// softmax_loss kernels: to be written.
