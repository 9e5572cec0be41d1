#include "baton/auth/credentials.h"

#include <fmt/format.h>
#include <grpcpp/support/client_interceptor.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "baton/auth/token.h"

namespace baton::auth {
namespace {

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

// Adds the bearer token to every call's initial metadata.
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string* value) : value_(value) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kAuthorizationHeader, *value_);
    }
    methods->Proceed();
  }

 private:
  const std::string* value_;
};

class BearerFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerFactory(std::string value) : value_(std::move(value)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(&value_);
  }

 private:
  const std::string value_;  // lives as long as the channel, which owns the factory
};

}  // namespace

std::string CredentialsPath() {
  if (const char* p = Env("BATON_CREDENTIALS")) return p;
  if (const char* x = Env("XDG_CONFIG_HOME")) return fmt::format("{}/baton/credentials", x);
  if (const char* h = Env("HOME")) return fmt::format("{}/.config/baton/credentials", h);
  return "";
}

Result<std::optional<Credentials>> LoadCredentials(const std::string& path) {
  if (path.empty()) return std::optional<Credentials>();
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<Credentials>();
  std::ostringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument(fmt::format(
        "{}: not a credentials file (JSON with \"server\" and \"token\"); run `baton login` "
        "again",
        path));
  }
  Credentials c;
  for (auto [key, out] : {std::pair{"server", &c.server}, std::pair{"token", &c.token},
                          std::pair{"ca_file", &c.ca_file}}) {
    if (!j.contains(key)) continue;
    if (!j[key].is_string()) {
      return InvalidArgument(fmt::format("{}: {}: must be a string", path, key));
    }
    *out = j[key].get<std::string>();
  }
  return std::optional<Credentials>(std::move(c));
}

Status SaveCredentials(const std::string& path, const Credentials& credentials) {
  if (path.empty()) {
    return FailedPrecondition("no place for the credentials file: set HOME or BATON_CREDENTIALS");
  }
  nlohmann::json j = {{"server", credentials.server}, {"token", credentials.token}};
  if (!credentials.ca_file.empty()) j["ca_file"] = credentials.ca_file;
  return WriteSecretFile(path, j.dump(2) + "\n");
}

std::string ResolveToken(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* t = Env("BATON_TOKEN")) return t;
  auto c = LoadCredentials(CredentialsPath());
  if (c.ok() && c->has_value()) return (*c)->token;
  return "";
}

std::string CredentialsServer() {
  auto c = LoadCredentials(CredentialsPath());
  if (c.ok() && c->has_value()) return (*c)->server;
  return "";
}

std::string CredentialsCaFile() {
  auto c = LoadCredentials(CredentialsPath());
  if (c.ok() && c->has_value()) return (*c)->ca_file;
  return "";
}

std::string BearerValue(const std::string& token) { return "Bearer " + token; }

std::shared_ptr<grpc::Channel> CreateChannel(const std::string& target, const std::string& token,
                                             const grpc::ChannelArguments& args,
                                             std::shared_ptr<grpc::ChannelCredentials> transport) {
  if (transport == nullptr) transport = grpc::InsecureChannelCredentials();
  if (token.empty()) return grpc::CreateCustomChannel(target, transport, args);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<BearerFactory>(BearerValue(token)));
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, transport, args,
                                                                 std::move(factories));
}

}  // namespace baton::auth
