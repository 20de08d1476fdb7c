// Parity with Python jinja2 as transformers configures it: every (template, conversation) in
// tests/fixtures/chat_templates/expected.json (written by tools/make_chat_template_fixtures.py)
// renders byte-identical, and where jinja2 raised, Pagoda raises too.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <set>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pagoda/chat_template.h"
#include "pagoda/error.h"

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::filesystem::path test_data_dir() {
  if (const char* d = std::getenv("PAGODA_TEST_DATA")) return d;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/root") / ".cache/pagoda/test-data";
}

// The template source for an expected.json entry: a .jinja file, or the chat_template field of a
// tokenizer_config.json.
std::string template_source(const std::string& source_file) {
  std::filesystem::path p = test_data_dir() / source_file;
  std::string text = read_file(p);
  if (p.extension() == ".json") return nlohmann::json::parse(text).at("chat_template").get<std::string>();
  return text;
}

TEST(ChatTemplateParity, EveryFixtureRendersLikeJinja2) {
  nlohmann::ordered_json expected =
      nlohmann::ordered_json::parse(read_file(std::filesystem::path(PAGODA_FIXTURES_DIR) /
                                      "chat_templates/expected.json"));
  ASSERT_TRUE(std::filesystem::is_directory(test_data_dir() / "llama.cpp/models/templates"))
      << "no chat templates under " << test_data_dir()
      << "; run scripts/fetch-test-data.sh (or set PAGODA_TEST_DATA)";
  // strftime_now formats local time; the fixtures were rendered for a fixed UTC clock.
  setenv("TZ", "UTC", 1);
  tzset();
  const std::time_t fixed = expected.at("fixed_time").get<std::time_t>();
  const auto& conversations = expected.at("conversations");

  int rendered = 0, raised = 0, failures = 0;
  std::set<std::string> templates_rendered;
  for (const auto& [name, entry] : expected.at("templates").items()) {
    std::string source = template_source(entry.at("source_file").get<std::string>());
    std::unique_ptr<pagoda::ChatTemplate> tmpl;
    std::string parse_error;
    try {
      tmpl = std::make_unique<pagoda::ChatTemplate>(source, name);
      tmpl->set_clock([fixed] { return fixed; });
    } catch (const pagoda::Error& e) {
      parse_error = e.what();
    }
    for (const auto& [conv_name, result] : entry.at("results").items()) {
      const auto& conv = conversations.at(conv_name);
      pagoda::ChatTemplateInputs in;
      in.messages = conv.at("messages");
      in.tools = conv.at("tools");
      in.add_generation_prompt = conv.at("add_generation_prompt").get<bool>();
      in.extra = conv.at("extra");
      in.bos_token = entry.at("bos_token").get<std::string>();
      in.eos_token = entry.at("eos_token").get<std::string>();
      std::string output, error = parse_error;
      if (tmpl) {
        try {
          output = tmpl->render(in);
        } catch (const pagoda::Error& e) {
          error = e.what();
        }
      }
      const std::string where = name + " / " + conv_name;
      if (result.contains("output")) {
        if (!error.empty()) {
          ADD_FAILURE() << where << ": jinja2 rendered it but Pagoda raised: " << error;
          ++failures;
        } else if (output != result.at("output").get<std::string>()) {
          EXPECT_EQ(output, result.at("output").get<std::string>()) << where;
          ++failures;
        } else {
          ++rendered;
          templates_rendered.insert(name);
        }
      } else {
        if (error.empty()) {
          ADD_FAILURE() << where << ": jinja2 raised '" << result.at("error").get<std::string>()
                        << "' but Pagoda rendered:\n" << output;
          ++failures;
          continue;
        }
        ++raised;
        // Messages from raise_exception are the template's own words: they must match.
        std::string py = result.at("error").get<std::string>();
        if (py.rfind("TemplateError: ", 0) == 0) {
          EXPECT_NE(error.find(py.substr(15)), std::string::npos) << where << ": " << error;
        }
      }
    }
  }
  std::cout << "chat template parity: " << rendered << " renderings byte-identical over "
            << templates_rendered.size() << " templates, " << raised
            << " errors raised as jinja2 does, " << failures << " mismatches\n";
  EXPECT_GE(templates_rendered.size(), 70u);
}

}  // namespace
