#include "pagoda/tensor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/device_copy.h"
#include "pagoda/error.h"

namespace pagoda {

// ---------------------------------------------------------------- Shape

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const int64_t> dims) {
  PAGODA_CHECK(dims.size() <= kMaxDims, InvalidArgument,
               fmt::format("a tensor of rank {} was requested; Pagoda supports at most {} dimensions",
                           dims.size(), kMaxDims),
               "reshape the data into fewer dimensions");
  rank_ = static_cast<int>(dims.size());
  std::copy(dims.begin(), dims.end(), dims_.begin());
}

void Shape::push_back(int64_t d) { insert(rank_, d); }

void Shape::insert(int i, int64_t d) {
  PAGODA_CHECK(rank_ < kMaxDims, InvalidArgument,
               fmt::format("cannot add a dimension to a rank-{} shape", rank_),
               "Pagoda supports at most 8 dimensions");
  PAGODA_ASSERT(i >= 0 && i <= rank_);
  for (int j = rank_; j > i; --j) dims_[j] = dims_[j - 1];
  dims_[i] = d;
  ++rank_;
}

void Shape::erase(int i) {
  PAGODA_ASSERT(i >= 0 && i < rank_);
  for (int j = i; j + 1 < rank_; ++j) dims_[j] = dims_[j + 1];
  --rank_;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

bool Shape::operator==(const Shape& other) const {
  return rank_ == other.rank_ && std::equal(begin(), end(), other.begin());
}

std::string Shape::to_string() const { return fmt::format("[{}]", fmt::join(begin(), end(), ", ")); }

Shape contiguous_strides(const Shape& shape) {
  Shape strides = shape;
  int64_t s = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

// ---------------------------------------------------------------- Storage

std::shared_ptr<Storage> Storage::allocate(size_t bytes, Allocator& allocator) {
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = allocator.allocate(bytes, kCpuAlignment);
  s->bytes_ = bytes;
  s->device_ = allocator.device();
  s->allocator_ = &allocator;
  return s;
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t bytes, Device device, bool read_only,
                                         std::shared_ptr<const void> keep_alive) {
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = data;
  s->bytes_ = bytes;
  s->device_ = device;
  s->read_only_ = read_only;
  s->keep_alive_ = std::move(keep_alive);
  return s;
}

Storage::~Storage() {
  if (allocator_) allocator_->deallocate(data_, bytes_);
}

void* Storage::mutable_data() {
  PAGODA_CHECK(!read_only_, InvalidArgument,
               "attempt to write into read-only tensor memory (a view into a mapped weights file)",
               "clone() the tensor first and write into the copy");
  return data_;
}

// ---------------------------------------------------------------- Tensor construction

namespace {

void check_shape(const Shape& shape) {
  for (int64_t d : shape)
    PAGODA_CHECK(d >= 0, InvalidArgument,
                 fmt::format("shape {} has a negative size", shape.to_string()),
                 "sizes must be >= 0");
}

int normalize_dim(int d, int rank, const char* what) {
  const int r = d < 0 ? d + rank : d;
  PAGODA_CHECK(r >= 0 && r < rank, InvalidArgument,
               fmt::format("{}: dimension {} is out of range for a rank-{} tensor", what, d, rank),
               fmt::format("use a dimension in [{}, {}]", -rank, rank - 1));
  return r;
}

size_t checked_bytes(const Shape& shape, DType dtype) {
  size_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > SIZE_MAX / static_cast<size_t>(d))
      throw_error(ErrorCode::InvalidArgument, fmt::format("shape {} is too large", shape.to_string()),
                  "check the sizes");
    n *= static_cast<size_t>(d);
  }
  if (n > SIZE_MAX / dtype_size(dtype))
    throw_error(ErrorCode::InvalidArgument, fmt::format("shape {} is too large", shape.to_string()),
                "check the sizes");
  return n * dtype_size(dtype);
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  check_shape(shape);
  Tensor t;
  t.storage_ = Storage::allocate(checked_bytes(shape, dtype), allocator_for(device));
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (!device.is_cpu()) {
    const DeviceZero zero = device_zero();
    PAGODA_CHECK(zero != nullptr, Unsupported,
                 fmt::format("Tensor::zeros on {}: this build has no {} backend",
                             device.to_string(), device.to_string()),
                 "build with the cuda preset to use CUDA devices");
    zero(t);
    return t;
  }
  std::memset(t.storage_->mutable_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::from_blob(void* data, const Shape& shape, DType dtype, Device device,
                         std::shared_ptr<const void> keep_alive) {
  check_shape(shape);
  Tensor t;
  t.storage_ = Storage::borrow(data, checked_bytes(shape, dtype), device, false, std::move(keep_alive));
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::from_blob_read_only(const void* data, const Shape& shape, DType dtype, Device device,
                                   std::shared_ptr<const void> keep_alive) {
  check_shape(shape);
  Tensor t;
  t.storage_ = Storage::borrow(const_cast<void*>(data), checked_bytes(shape, dtype), device, true,
                               std::move(keep_alive));
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, size_t byte_offset, const Shape& shape,
                            const Shape& strides, DType dtype) {
  check_shape(shape);
  PAGODA_CHECK(storage != nullptr, InvalidArgument, "from_storage given no storage", "pass a storage");
  PAGODA_CHECK(shape.size() == strides.size(), InvalidArgument,
               fmt::format("shape {} and strides {} differ in rank", shape.to_string(), strides.to_string()),
               "give one stride per dimension");
  // The furthest element reachable must lie inside the storage.
  size_t last = 0;
  bool empty = false;
  for (int i = 0; i < shape.size(); ++i) {
    PAGODA_CHECK(strides[i] >= 0, InvalidArgument, "negative strides are not supported",
                 "make the tensor contiguous first");
    if (shape[i] == 0) empty = true;
    else last += static_cast<size_t>(shape[i] - 1) * static_cast<size_t>(strides[i]);
  }
  const size_t item = dtype_size(dtype);
  PAGODA_CHECK(empty || byte_offset + (last + 1) * item <= storage->nbytes(), InvalidArgument,
               fmt::format("view of shape {} strides {} at byte {} needs {} bytes but the storage has {}",
                           shape.to_string(), strides.to_string(), byte_offset,
                           byte_offset + (last + 1) * item, storage->nbytes()),
               "the view must lie inside its storage");
  Tensor t;
  t.storage_ = std::move(storage);
  t.offset_ = byte_offset;
  t.shape_ = shape;
  t.strides_ = strides;
  t.dtype_ = dtype;
  return t;
}

// ---------------------------------------------------------------- Accessors

int64_t Tensor::size(int d) const { return shape_[normalize_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int d) const { return strides_[normalize_dim(d, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int i = dim() - 1; i >= 0; --i) {
    if (shape_[i] == 1) continue;  // any stride is fine for a size-1 dimension
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

const void* Tensor::data() const {
  PAGODA_CHECK(defined(), InvalidArgument, "data() of an undefined tensor", "create the tensor first");
  return static_cast<const char*>(storage_->data()) + offset_;
}

void* Tensor::mutable_data() {
  PAGODA_CHECK(defined(), InvalidArgument, "mutable_data() of an undefined tensor",
               "create the tensor first");
  return static_cast<char*>(storage_->mutable_data()) + offset_;
}

void Tensor::check_dtype(DType expected) const {
  PAGODA_CHECK(dtype_ == expected, InvalidArgument,
               fmt::format("tensor holds {} but was accessed as {}", dtype_name(dtype_), dtype_name(expected)),
               "access it with the matching element type, or cast it");
}

std::string Tensor::to_string() const {
  if (!defined()) return "Tensor(undefined)";
  return fmt::format("Tensor(shape={}, dtype={}, device={})", shape_.to_string(), dtype_name(dtype_),
                     device().to_string());
}

// ---------------------------------------------------------------- Views

Tensor Tensor::view(const Shape& shape) const {
  PAGODA_CHECK(is_contiguous(), InvalidArgument,
               fmt::format("view() of a non-contiguous tensor {}", to_string()),
               "call contiguous() first or use reshape()");
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      PAGODA_CHECK(infer < 0, InvalidArgument, fmt::format("view shape {} has two -1 sizes", shape.to_string()),
                   "leave at most one size to be inferred");
      infer = i;
    } else {
      PAGODA_CHECK(s[i] >= 0, InvalidArgument, fmt::format("view shape {} has a negative size", shape.to_string()),
                   "sizes must be >= 0 (or one -1)");
      known *= s[i];
    }
  }
  if (infer >= 0) {
    PAGODA_CHECK(known != 0 && numel() % known == 0, InvalidArgument,
                 fmt::format("cannot view {} elements as {}", numel(), shape.to_string()),
                 "the sizes must multiply to the element count");
    s[infer] = numel() / known;
  }
  PAGODA_CHECK(s.numel() == numel(), InvalidArgument,
               fmt::format("cannot view {} of {} elements as {}", shape_.to_string(), numel(), s.to_string()),
               "the sizes must multiply to the element count");
  Tensor t = *this;
  t.shape_ = s;
  t.strides_ = contiguous_strides(s);
  return t;
}

Tensor Tensor::reshape(const Shape& shape) const { return is_contiguous() ? view(shape) : contiguous().view(shape); }

Tensor Tensor::slice(int d, int64_t start, int64_t end, int64_t step) const {
  d = normalize_dim(d, dim(), "slice");
  PAGODA_CHECK(step > 0, InvalidArgument, fmt::format("slice step {} must be positive", step), "use step >= 1");
  const int64_t n = shape_[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Tensor t = *this;
  t.offset_ += static_cast<size_t>(start * strides_[d]) * itemsize();
  t.shape_[d] = (end - start + step - 1) / step;
  t.strides_[d] = strides_[d] * step;
  return t;
}

Tensor Tensor::select(int d, int64_t index) const {
  d = normalize_dim(d, dim(), "select");
  const int64_t n = shape_[d];
  const int64_t i = index < 0 ? index + n : index;
  PAGODA_CHECK(i >= 0 && i < n, InvalidArgument,
               fmt::format("select index {} is out of range for dimension {} of size {}", index, d, n),
               fmt::format("use an index in [{}, {}]", -n, n - 1));
  Tensor t = *this;
  t.offset_ += static_cast<size_t>(i * strides_[d]) * itemsize();
  t.shape_.erase(d);
  t.strides_.erase(d);
  return t;
}

Tensor Tensor::transpose(int d0, int d1) const {
  d0 = normalize_dim(d0, dim(), "transpose");
  d1 = normalize_dim(d1, dim(), "transpose");
  Tensor t = *this;
  std::swap(t.shape_[d0], t.shape_[d1]);
  std::swap(t.strides_[d0], t.strides_[d1]);
  return t;
}

Tensor Tensor::permute(std::initializer_list<int> order) const {
  PAGODA_CHECK(static_cast<int>(order.size()) == dim(), InvalidArgument,
               fmt::format("permute of a rank-{} tensor given {} dimensions", dim(), order.size()),
               "name every dimension exactly once");
  Tensor t = *this;
  bool seen[kMaxDims] = {};
  int i = 0;
  for (int o : order) {
    const int d = normalize_dim(o, dim(), "permute");
    PAGODA_CHECK(!seen[d], InvalidArgument, fmt::format("permute names dimension {} twice", d),
                 "name every dimension exactly once");
    seen[d] = true;
    t.shape_[i] = shape_[d];
    t.strides_[i] = strides_[d];
    ++i;
  }
  return t;
}

Tensor Tensor::unsqueeze(int d) const {
  const int r = d < 0 ? d + dim() + 1 : d;
  PAGODA_CHECK(r >= 0 && r <= dim(), InvalidArgument,
               fmt::format("unsqueeze: dimension {} is out of range for a rank-{} tensor", d, dim()),
               fmt::format("use a dimension in [{}, {}]", -dim() - 1, dim()));
  Tensor t = *this;
  const int64_t stride = r < dim() ? strides_[r] * shape_[r] : 1;
  t.shape_.insert(r, 1);
  t.strides_.insert(r, stride);
  return t;
}

Tensor Tensor::squeeze(int d) const {
  d = normalize_dim(d, dim(), "squeeze");
  PAGODA_CHECK(shape_[d] == 1, InvalidArgument,
               fmt::format("squeeze of dimension {} whose size is {}, not 1", d, shape_[d]),
               "squeeze only size-1 dimensions");
  Tensor t = *this;
  t.shape_.erase(d);
  t.strides_.erase(d);
  return t;
}

Tensor Tensor::view_as_dtype(DType dtype) const {
  PAGODA_CHECK(dtype_size(dtype) == itemsize(), InvalidArgument,
               fmt::format("cannot reinterpret {} as {}: element sizes differ", dtype_name(dtype_), dtype_name(dtype)),
               "reinterpret only between types of the same size, or cast instead");
  Tensor t = *this;
  t.dtype_ = dtype;
  return t;
}

// ---------------------------------------------------------------- Copies

namespace {

// Copies a strided tensor of `item` bytes per element, recursing over dimensions with the
// innermost contiguous run copied by memcpy.
void strided_copy(char* dst, const Shape& dst_strides, const char* src, const Shape& src_strides,
                  const Shape& shape, int d, size_t item) {
  const int rank = shape.size();
  if (d == rank) {
    std::memcpy(dst, src, item);
    return;
  }
  if (d == rank - 1 && dst_strides[d] == 1 && src_strides[d] == 1) {
    std::memcpy(dst, src, static_cast<size_t>(shape[d]) * item);
    return;
  }
  for (int64_t i = 0; i < shape[d]; ++i)
    strided_copy(dst + i * dst_strides[d] * static_cast<int64_t>(item), dst_strides,
                 src + i * src_strides[d] * static_cast<int64_t>(item), src_strides, shape, d + 1, item);
}

}  // namespace

void Tensor::copy_from(const Tensor& src) {
  PAGODA_CHECK(defined() && src.defined(), InvalidArgument, "copy_from with an undefined tensor",
               "create both tensors first");
  PAGODA_CHECK(shape_ == src.shape_ && dtype_ == src.dtype_, InvalidArgument,
               fmt::format("copy_from: destination {} and source {} differ", to_string(), src.to_string()),
               "copy between tensors of one shape and dtype (cast first if the dtypes differ)");
  if (numel() == 0) return;
  if (!device().is_cpu() || !src.device().is_cpu()) {
    const DeviceCopy copy = device_copy();
    PAGODA_CHECK(copy != nullptr, Unsupported,
                 fmt::format("copy_from {} to {}: this build has no {} backend",
                             src.device().to_string(), device().to_string(),
                             device().is_cpu() ? src.device().to_string() : device().to_string()),
                 "build with the cuda preset to use CUDA devices");
    copy(*this, src);
    return;
  }
  char* dst = static_cast<char*>(mutable_data());
  const char* s = static_cast<const char*>(src.data());
  if (is_contiguous() && src.is_contiguous()) {
    std::memmove(dst, s, nbytes());
    return;
  }
  strided_copy(dst, strides_, s, src.strides_, shape_, 0, itemsize());
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device());
  t.copy_from(*this);
  return t;
}

Tensor Tensor::to(Device device) const {
  if (!defined() || this->device() == device) return *this;
  Tensor t = empty(shape_, dtype_, device);
  t.copy_from(contiguous());
  return t;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

}  // namespace pagoda
