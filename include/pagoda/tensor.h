// Tensor: a typed, strided view over device memory.
//
// A Tensor is cheap to copy: it shares its Storage. Views (slice, select, transpose, view) share
// storage too and never copy. Storage is either owned (allocated from an Allocator and returned to
// it) or borrowed (somebody else's memory, e.g. a read-only window into an mmapped safetensors
// file, kept alive by a shared keep-alive handle).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

#include "pagoda/allocator.h"
#include "pagoda/device.h"
#include "pagoda/dtype.h"
#include "pagoda/half.h"

namespace pagoda {

constexpr int kMaxDims = 8;

// A small fixed-capacity list of sizes (or strides), kept inline so making views never allocates.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(std::span<const int64_t> dims);

  int size() const { return rank_; }
  bool empty() const { return rank_ == 0; }
  int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
  int64_t& operator[](int i) { return dims_[static_cast<size_t>(i)]; }
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + rank_; }
  void push_back(int64_t d);
  void erase(int i);
  void insert(int i, int64_t d);
  // Product of the sizes (1 for rank 0).
  int64_t numel() const;
  bool operator==(const Shape& other) const;
  // "[2, 3, 4]"
  std::string to_string() const;

 private:
  std::array<int64_t, kMaxDims> dims_{};
  int rank_ = 0;
};

// Memory a tensor points into.
class Storage {
 public:
  // Owned memory of `bytes` from `allocator`, aligned to kCpuAlignment.
  static std::shared_ptr<Storage> allocate(size_t bytes, Allocator& allocator);
  // Somebody else's memory. `keep_alive` is held as long as any tensor uses it (may be null when
  // the caller guarantees the lifetime). Read-only storage refuses mutable access.
  static std::shared_ptr<Storage> borrow(void* data, size_t bytes, Device device, bool read_only,
                                         std::shared_ptr<const void> keep_alive);

  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  const void* data() const { return data_; }
  // Throws pagoda::Error(InvalidArgument) for read-only storage.
  void* mutable_data();
  size_t nbytes() const { return bytes_; }
  Device device() const { return device_; }
  bool read_only() const { return read_only_; }
  bool owned() const { return allocator_ != nullptr; }

 private:
  Storage() = default;
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  bool read_only_ = false;
  Allocator* allocator_ = nullptr;  // non-null when owned
  std::shared_ptr<const void> keep_alive_;
};

// The C++ element type for a DType, for typed access: float, double, f16, bf16, fp8_e4m3, int32_t...
template <typename T>
constexpr DType dtype_of();

class Tensor {
 public:
  // An undefined tensor (defined() is false).
  Tensor() = default;

  // New contiguous owned tensors.
  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype, Device device = Device::cpu());
  // A contiguous tensor over borrowed memory; see Storage::borrow.
  static Tensor from_blob(void* data, const Shape& shape, DType dtype, Device device = Device::cpu(),
                          std::shared_ptr<const void> keep_alive = nullptr);
  static Tensor from_blob_read_only(const void* data, const Shape& shape, DType dtype,
                                    Device device = Device::cpu(),
                                    std::shared_ptr<const void> keep_alive = nullptr);
  // A general view into existing storage; checks that every reachable byte lies inside it.
  static Tensor from_storage(std::shared_ptr<Storage> storage, size_t byte_offset,
                             const Shape& shape, const Shape& strides, DType dtype);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  const Shape& shape() const { return shape_; }
  // Strides in elements.
  const Shape& strides() const { return strides_; }
  int dim() const { return shape_.size(); }
  // Size of dimension d; negative d counts from the end.
  int64_t size(int d) const;
  int64_t stride(int d) const;
  int64_t numel() const { return shape_.numel(); }
  size_t itemsize() const { return dtype_size(dtype_); }
  // numel() * itemsize(): the bytes of the elements, not of the storage.
  size_t nbytes() const { return static_cast<size_t>(numel()) * itemsize(); }
  size_t byte_offset() const { return offset_; }
  bool is_contiguous() const;
  bool is_read_only() const { return storage_ && storage_->read_only(); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  // Pointer to element 0 (which need not be the lowest address for negative strides; Pagoda
  // creates none).
  const void* data() const;
  // Throws for read-only tensors.
  void* mutable_data();
  template <typename T>
  const T* data_as() const {
    check_dtype(dtype_of<T>());
    return static_cast<const T*>(data());
  }
  template <typename T>
  T* mutable_data_as() {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(mutable_data());
  }

  // --- Views: share storage, never copy. ---
  // Same elements, new shape; one size may be -1. Requires a contiguous tensor.
  Tensor view(const Shape& shape) const;
  // view() when contiguous, otherwise a contiguous copy reshaped.
  Tensor reshape(const Shape& shape) const;
  // Elements start, start+step, ... < end along dim (negative start/end count from the end;
  // both are clamped to the size, as in Python).
  Tensor slice(int dim, int64_t start, int64_t end, int64_t step = 1) const;
  // Removes dim, keeping index `index`.
  Tensor select(int dim, int64_t index) const;
  Tensor transpose(int dim0, int dim1) const;
  Tensor permute(std::initializer_list<int> order) const;
  Tensor unsqueeze(int dim) const;
  Tensor squeeze(int dim) const;
  // Reinterprets the same bytes as another dtype of the same size (e.g. bf16 as i16).
  Tensor view_as_dtype(DType dtype) const;

  // --- Copies (CPU). ---
  // This tensor if contiguous, otherwise a contiguous copy.
  Tensor contiguous() const;
  // A contiguous owned copy.
  Tensor clone() const;
  // This tensor if it is already on `device`, otherwise a contiguous copy there.
  Tensor to(Device device) const;
  // Copies src's elements into this tensor (same shape and dtype; any strides on both sides).
  void copy_from(const Tensor& src);

  // "Tensor(shape=[2, 3], dtype=bf16, device=cpu)"
  std::string to_string() const;

 private:
  void check_dtype(DType expected) const;
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;  // bytes
  Shape shape_;
  Shape strides_;
  DType dtype_ = DType::F32;
};

// Strides of a contiguous (row-major) tensor of this shape.
Shape contiguous_strides(const Shape& shape);

template <typename T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, double>) return DType::F64;
  else if constexpr (std::is_same_v<T, float>) return DType::F32;
  else if constexpr (std::is_same_v<T, f16>) return DType::F16;
  else if constexpr (std::is_same_v<T, bf16>) return DType::BF16;
  else if constexpr (std::is_same_v<T, fp8_e4m3>) return DType::FP8_E4M3;
  else if constexpr (std::is_same_v<T, fp8_e5m2>) return DType::FP8_E5M2;
  else if constexpr (std::is_same_v<T, int64_t>) return DType::I64;
  else if constexpr (std::is_same_v<T, int32_t>) return DType::I32;
  else if constexpr (std::is_same_v<T, int16_t>) return DType::I16;
  else if constexpr (std::is_same_v<T, int8_t>) return DType::I8;
  else if constexpr (std::is_same_v<T, uint8_t>) return DType::U8;
  else if constexpr (std::is_same_v<T, bool>) return DType::Bool;
  else static_assert(sizeof(T) == 0, "no DType for this C++ type");
}

}  // namespace pagoda
