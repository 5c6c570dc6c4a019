package redisclient

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/flinkferry/flinkferry/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestNewConnectsToRealRedis(t *testing.T) {
	r := testenv.Redis(t)
	c, err := New(context.Background(), Config{URL: r.URL(), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := c.(*redis.Client).Options().DB, r.DB; got != want {
		t.Errorf("DB = %d, want %d", got, want)
	}
	// Deadlines come from the context.
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := c.BLPop(ctx, time.Second, "empty").Err(); err == nil {
		t.Error("BLPOP ignored the context deadline")
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "http://x", Timeout: time.Second}, "URL must be"},
		{Config{URL: "redis://:hunter2@[bad", Timeout: time.Second}, "URL must be"},
		{Config{URL: "redis://127.0.0.1:6379/0", Timeout: 0}, "TIMEOUT"},
		{Config{URL: "rediss://h:6380/0", TLSCAFile: "/nonexistent", Timeout: time.Second}, "TLS_CA_FILE"},
	} {
		err := tt.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg.URL, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
	if err := (Config{URL: "redis://:pw@127.0.0.1:6379/3", Timeout: time.Second}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}
