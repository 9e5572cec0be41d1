#include "baton/common/server_target.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace baton {

namespace {

Result<std::string> ResolveIpv4(const std::string& host, std::string_view field) {
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1) return host;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    return InvalidArgument(fmt::format("{}: cannot resolve host '{}' to IPv4", field, host));
  }
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, buf, sizeof(buf));
  freeaddrinfo(res);
  return std::string(buf);
}

}  // namespace

Result<std::string> ServerTarget(std::string_view servers, std::string_view field) {
  if (servers.find(',') == std::string_view::npos) return std::string(servers);
  std::string target = "ipv4:";
  size_t start = 0;
  bool first = true;
  while (start <= servers.size()) {
    size_t comma = servers.find(',', start);
    if (comma == std::string_view::npos) comma = servers.size();
    std::string_view item = servers.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    const size_t colon = item.rfind(':');
    if (item.empty() || colon == std::string_view::npos || colon == 0 || colon + 1 == item.size()) {
      return InvalidArgument(
          fmt::format("{}: '{}' in '{}' is not host:port", field, item, servers));
    }
    BATON_ASSIGN_OR_RETURN(std::string ip, ResolveIpv4(std::string(item.substr(0, colon)), field));
    target += fmt::format("{}{}:{}", first ? "" : ",", ip, item.substr(colon + 1));
    first = false;
    start = comma + 1;
  }
  return target;
}

}  // namespace baton
