#include "ops/checks.h"

#include <fmt/format.h>

#include "pagoda/error.h"

namespace pagoda::ops::detail {
namespace {
thread_local bool trusted_indices = false;
}  // namespace

ScopedTrustedIndices::ScopedTrustedIndices() : previous_(trusted_indices) {
  trusted_indices = true;
}
ScopedTrustedIndices::~ScopedTrustedIndices() { trusted_indices = previous_; }
bool indices_trusted() { return trusted_indices; }

std::string dtype_list(std::initializer_list<DType> dtypes) {
  std::string s;
  size_t i = 0;
  for (DType d : dtypes) {
    if (i > 0) s += (i + 1 == dtypes.size()) ? " or " : ", ";
    s += dtype_name(d);
    ++i;
  }
  return s;
}

void check_defined(std::string_view op, std::string_view name, const Tensor& t) {
  PAGODA_CHECK(t.defined(), InvalidArgument,
               fmt::format("{}: argument '{}' is an undefined tensor", op, name),
               fmt::format("pass a tensor for '{}'", name));
}

void check_dtype(std::string_view op, std::string_view name, const Tensor& t,
                 std::initializer_list<DType> allowed) {
  for (DType d : allowed)
    if (t.dtype() == d) return;
  throw_error(ErrorCode::InvalidArgument,
              fmt::format("{}: argument '{}' has dtype {}; expected {}", op, name,
                          dtype_name(t.dtype()), dtype_list(allowed)),
              fmt::format("cast '{}' to one of {} first", name, dtype_list(allowed)));
}

void check_activation_dtype(std::string_view op, std::string_view name, const Tensor& t) {
  check_dtype(op, name, t, {DType::F32, DType::BF16, DType::F16});
}

void check_rank(std::string_view op, std::string_view name, const Tensor& t, int rank) {
  PAGODA_CHECK(t.dim() == rank, InvalidArgument,
               fmt::format("{}: argument '{}' has shape {} (rank {}); expected rank {}", op, name,
                           t.shape().to_string(), t.dim(), rank),
               fmt::format("reshape '{}' to {} dimensions", name, rank));
}

void check_shape(std::string_view op, std::string_view name, const Tensor& t, const Shape& expected,
                 std::string_view why) {
  PAGODA_CHECK(t.shape() == expected, InvalidArgument,
               fmt::format("{}: argument '{}' has shape {}; expected {} ({})", op, name,
                           t.shape().to_string(), expected.to_string(), why),
               fmt::format("pass a '{}' of shape {}", name, expected.to_string()));
}

void check_per_column(std::string_view op, std::string_view name, const Tensor& t,
                      const Tensor& x) {
  const Shape expected{x.size(-1)};
  PAGODA_CHECK(
      t.shape() == expected, InvalidArgument,
      fmt::format("{}: argument '{}' has shape {}; expected {} (one value per column of "
                  "x, whose shape is {})",
                  op, name, t.shape().to_string(), expected.to_string(), x.shape().to_string()),
      fmt::format("pass the '{}' of this layer, whose size is x's last dimension", name));
}

void check_same_dtype(std::string_view op, std::string_view name, const Tensor& t,
                      std::string_view other_name, const Tensor& other) {
  PAGODA_CHECK(t.dtype() == other.dtype(), InvalidArgument,
               fmt::format("{}: argument '{}' has dtype {} but '{}' has {}; they must match", op,
                           name, dtype_name(t.dtype()), other_name, dtype_name(other.dtype())),
               fmt::format("cast '{}' to {}", name, dtype_name(other.dtype())));
}

void check_rows(std::string_view op, std::string_view name, const Tensor& t) {
  PAGODA_CHECK(
      t.dim() >= 1, InvalidArgument,
      fmt::format("{}: argument '{}' is a scalar (rank 0); expected rows [..., n]", op, name),
      fmt::format("give '{}' at least one dimension", name));
  PAGODA_CHECK(t.stride(-1) == 1 || t.size(-1) <= 1, InvalidArgument,
               fmt::format("{}: argument '{}' (shape {}, strides {}) has a last-dimension stride "
                           "of {}; the op needs each row contiguous (stride 1)",
                           op, name, t.shape().to_string(), t.strides().to_string(), t.stride(-1)),
               fmt::format("pass '{}'.contiguous(); rows may be spaced apart, but each row's "
                           "elements must be adjacent",
                           name));
}

void check_writable(std::string_view op, std::string_view name, const Tensor& t) {
  PAGODA_CHECK(!t.is_read_only(), InvalidArgument,
               fmt::format("{}: argument '{}' is read-only (a view into a mapped weights file) "
                           "but the op writes it",
                           op, name),
               fmt::format("clone() '{}' and pass the copy", name));
}

Device common_device(std::string_view op, std::initializer_list<NamedTensor> tensors) {
  const NamedTensor* first = nullptr;
  for (const NamedTensor& nt : tensors) {
    if (!nt.tensor.defined()) continue;
    if (!first) {
      first = &nt;
      continue;
    }
    PAGODA_CHECK(nt.tensor.device() == first->tensor.device(), InvalidArgument,
                 fmt::format("{}: argument '{}' is on {} but '{}' is on {}", op, nt.name,
                             nt.tensor.device().to_string(), first->name,
                             first->tensor.device().to_string()),
                 "move all arguments of one op call to the same device");
  }
  return first ? first->tensor.device() : Device::cpu();
}

void unsupported_device(std::string_view op, Device device) {
  throw_error(ErrorCode::Unsupported,
              fmt::format("{}: no implementation for tensors on {} yet", op, device.to_string()),
              "run this op on CPU tensors; the CUDA backend does not provide it yet");
}

void check_token_rows(std::string_view op, std::string_view name, const Tensor& t, int64_t tokens,
                      int64_t heads, int64_t head_size, std::string_view heads_name) {
  check_defined(op, name, t);
  check_activation_dtype(op, name, t);
  check_rank(op, name, t, 2);
  check_rows(op, name, t);
  PAGODA_CHECK(t.size(0) == tokens && t.size(1) == heads * head_size, InvalidArgument,
               fmt::format("{}: argument '{}' has shape {}; expected [{}, {}] ({} tokens, {} = {} "
                           "* head_size {})",
                           op, name, t.shape().to_string(), tokens, heads * head_size, tokens,
                           heads_name, heads, head_size),
               fmt::format("pass '{}' as [tokens, {} * head_size]", name, heads_name));
}

void check_query_start_loc(std::string_view op, std::span<const int64_t> loc, int64_t tokens) {
  PAGODA_CHECK(
      !loc.empty() && loc.front() == 0, InvalidArgument,
      fmt::format("{}: argument 'query_start_loc' {}; expected num_seqs + 1 offsets starting at 0",
                  op,
                  loc.empty() ? std::string("is empty") : fmt::format("starts at {}", loc.front())),
      "pass the sequence boundaries [0, end of sequence 0, ..., num_tokens]");
  for (size_t i = 1; i < loc.size(); ++i)
    PAGODA_CHECK(loc[i] >= loc[i - 1], InvalidArgument,
                 fmt::format("{}: argument 'query_start_loc' decreases at index {} ({} after {}); "
                             "expected non-decreasing offsets",
                             op, i, loc[i], loc[i - 1]),
                 "pass cumulative query lengths");
  PAGODA_CHECK(loc.back() == tokens, InvalidArgument,
               fmt::format("{}: argument 'query_start_loc' ends at {} but q has {} tokens; "
                           "expected the last offset to equal the number of tokens",
                           op, loc.back(), tokens),
               "make the sequences cover exactly the rows of q");
}

}  // namespace pagoda::ops::detail
