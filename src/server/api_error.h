// An error answered to an HTTP client in OpenAI's shape:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// with the HTTP status it travels under. Handlers throw it; the router turns it into a response.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace pagoda::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string code, std::string param = "")
      : std::runtime_error(message), status_(status), code_(std::move(code)),
        param_(std::move(param)) {}

  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::string& param() const { return param_; }
  // OpenAI's error type for the status: invalid_request_error, authentication_error, ...
  std::string type() const;
  nlohmann::json to_json() const;

 private:
  int status_;
  std::string code_, param_;
};

// The statuses the server uses, and when:
//   400 a value is out of range or inconsistent (vLLM's own checks), the prompt is too long,
//       the body is not JSON
//   401 missing or wrong API key
//   404 unknown route or model
//   413 body over --max-request-body
//   422 valid JSON of the wrong shape: not an object, a field of the wrong type, a required
//       field missing (FastAPI's status for schema errors)
//   503 shutting down, or the engine failed
inline ApiError bad_request(std::string message, std::string param = "",
                            std::string code = "invalid_value") {
  return ApiError(400, std::move(message), std::move(code), std::move(param));
}
inline ApiError unprocessable(std::string message, std::string param = "",
                              std::string code = "invalid_type") {
  return ApiError(422, std::move(message), std::move(code), std::move(param));
}

}  // namespace pagoda::server
