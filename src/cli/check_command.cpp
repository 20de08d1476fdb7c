#include "cli/check_command.h"

#include <fmt/format.h>

#include "pagoda/checkpoint_check.h"

namespace pagoda::cli {

int run_check_command(const std::string& model_dir) {
  fmt::print("checking {}\n", model_dir);
  const CheckReport report = check_checkpoint(model_dir);
  fmt::print("{}", format_check_report(report));
  return report.ok() ? 0 : 1;
}

}  // namespace pagoda::cli
