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

}  // namespace pagoda::distributed
