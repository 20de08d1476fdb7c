// Pieces the CPU communicators that move raw bytes between processes (MPI, sockets) share: the
// checks of a gather's dimension and output, and the copy of rank-ordered blocks into the output's
// slices along the gathered dimension.
#pragma once

#include "pagoda/tensor.h"

namespace pagoda::distributed {

// `dim` of `t`, negative counting from the end; throws naming `who` ("MPI gather", ...) when the
// tensor has no such dimension.
int normalize_gather_dim(const char* who, const Tensor& t, int dim);

// Throws naming `who` unless `output` is `input`'s shape with dimension `d` times `ranks`, in
// input's dtype.
void check_gather_output(const char* who, const Tensor& input, const Tensor& output, int d,
                         int ranks);

// Copies the `ranks` contiguous blocks of `stacked` (rank after rank, each of `part_shape`) into
// output's slices along `dim`.
void scatter_blocks(const Tensor& stacked, Tensor& output, int dim, const Shape& part_shape,
                    int ranks);

// A gather along `dim` for communicators that move contiguous bytes: checks the arguments (the
// output only where `receives`), makes the input contiguous and has stack(input, stacked) fill
// `stacked` with every rank's block in rank order where it receives (an undefined tensor
// elsewhere), then lays the blocks out along `dim`.
template <class Stack>
void gather_blocks(const char* who, const Tensor& input, Tensor& output, int dim, bool receives,
                   int ranks, Stack&& stack) {
  const int d = normalize_gather_dim(who, input, dim);
  if (receives) check_gather_output(who, input, output, d, ranks);
  const Tensor in = input.is_contiguous() ? input : input.clone();
  Tensor stacked = receives ? Tensor::empty({ranks * in.numel()}, in.dtype()) : Tensor();
  stack(in, stacked);
  if (receives) scatter_blocks(stacked, output, d, in.shape(), ranks);
}

}  // namespace pagoda::distributed
