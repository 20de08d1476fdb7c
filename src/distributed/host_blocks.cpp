#include "distributed/host_blocks.h"

#include <fmt/format.h>

#include "pagoda/error.h"

namespace pagoda::distributed {

int normalize_gather_dim(const char* who, const Tensor& t, int dim) {
  const int d = dim < 0 ? dim + t.dim() : dim;
  PAGODA_CHECK(d >= 0 && d < t.dim(), InvalidArgument,
               fmt::format("{} along dimension {} of a rank-{} tensor", who, dim, t.dim()),
               "gather along an existing dimension");
  return d;
}

void check_gather_output(const char* who, const Tensor& input, const Tensor& output, int d,
                         int ranks) {
  Shape expected = input.shape();
  expected[d] *= ranks;
  PAGODA_CHECK(output.defined() && output.shape() == expected && output.dtype() == input.dtype(),
               InvalidArgument,
               fmt::format("{}: output is {} but {} of {} is needed", who,
                           output.defined() ? output.to_string() : std::string("undefined"),
                           expected.to_string(), dtype_name(input.dtype())),
               "size the output as the input times the group size along the gather dimension");
}

void scatter_blocks(const Tensor& stacked, Tensor& output, int dim, const Shape& part_shape,
                    int ranks) {
  const int64_t part = part_shape[dim];
  const int64_t block_bytes = static_cast<int64_t>(stacked.nbytes()) / ranks;
  for (int r = 0; r < ranks; ++r) {
    const Tensor src = Tensor::from_blob_read_only(
        static_cast<const char*>(stacked.data()) + r * block_bytes, part_shape, stacked.dtype());
    Tensor dst = output.slice(dim, r * part, (r + 1) * part);
    dst.copy_from(src);
  }
}

}  // namespace pagoda::distributed
