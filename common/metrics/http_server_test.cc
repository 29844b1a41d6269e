#include "common/metrics/http_server.h"

#include <httplib.h>

#include "gtest/gtest.h"

namespace runnel::metrics {
namespace {

TEST(HttpServerTest, ServesTheRegistryOnAnEphemeralPort) {
  Registry r;
  Counter* c = r.AddCounter("runnel_test_total", "Test.")->WithLabels({});
  auto server = HttpServer::Start("127.0.0.1:0", &r);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  httplib::Client client("127.0.0.1", (*server)->port());
  c->Increment(7);
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res) << "no answer";
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("runnel_test_total 7\n"), std::string::npos) << res->body;
  EXPECT_NE(res->get_header_value("Content-Type").find("version=0.0.4"), std::string::npos);
  c->Increment();
  EXPECT_NE(client.Get("/metrics")->body.find("runnel_test_total 8\n"), std::string::npos);
  EXPECT_EQ(client.Get("/healthz")->status, 200);
  EXPECT_EQ(client.Get("/nope")->status, 404);
}

TEST(HttpServerTest, RejectsBadAddressesClearly) {
  Registry r;
  for (const char* bad : {"nonsense", ":9", "127.0.0.1:99999", "127.0.0.1:x"}) {
    auto server = HttpServer::Start(bad, &r);
    ASSERT_FALSE(server.ok()) << bad;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(server.status().message().find(bad), std::string::npos);
  }
}

TEST(HttpServerTest, PortInUseIsUnavailable) {
  Registry r;
  auto first = HttpServer::Start("127.0.0.1:0", &r);
  ASSERT_TRUE(first.ok());
  auto second = HttpServer::Start("127.0.0.1:" + std::to_string((*first)->port()), &r);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace runnel::metrics
