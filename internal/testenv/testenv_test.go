package testenv

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { Main(m) }

func TestDockerRegistryRequiresCredentials(t *testing.T) {
	r := DockerRegistry(t)
	for _, tt := range []struct {
		user, pass string
		want       int
	}{
		{"", "", http.StatusUnauthorized},
		{r.Username, "wrong", http.StatusUnauthorized},
		{r.Username, r.Password, http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+r.Host+"/v2/", nil)
		if tt.user != "" {
			req.SetBasicAuth(tt.user, tt.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET /v2/ as %q/%q = %d, want %d", tt.user, tt.pass, resp.StatusCode, tt.want)
		}
	}
}

func TestRedisGivesEachTestItsOwnDatabase(t *testing.T) {
	a, b := Redis(t), Redis(t)
	if a.Addr != b.Addr || a.DB == b.DB {
		t.Errorf("Redis() = %+v and %+v, want one server, two databases", a, b)
	}
}

func TestKafkaHasThreeBrokers(t *testing.T) {
	if got := len(Kafka(t).Brokers); got != 3 {
		t.Errorf("brokers = %d, want 3", got)
	}
}

// TestRedisCluster starts the three-master cluster, writes keys of every
// master, fails one master over and reads them back through the same
// client.
func TestRedisCluster(t *testing.T) {
	c := RedisCluster(t)
	ctx := context.Background()
	rdb := c.Client(t)
	masters := map[string]bool{}
	for i := range 30 {
		k := fmt.Sprintf("k%d", i)
		if err := rdb.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		masters[c.MasterOf(t, k)] = true
	}
	if len(masters) != 3 {
		t.Fatalf("keys on %d masters, want 3", len(masters))
	}
	// The replica of k0's master has it before the kill: SET and WAIT on
	// one connection to the master.
	m := redis.NewClient(&redis.Options{Addr: c.MasterOf(t, "k0")})
	if err := m.Set(ctx, "k0", 0, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := m.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v", n, err)
	}
	m.Close()
	old, took := c.FailMaster(t, "k0")
	t.Logf("master %s failed over in %s", old, took.Round(time.Millisecond))
	if now := c.MasterOf(t, "k0"); now == old {
		t.Fatalf("k0 still served by the killed master %s", old)
	}
	var err error
	for range 50 {
		if err = rdb.Set(ctx, "after", "failover", 0).Err(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no write after the failover: %v", err)
	}
	if v, err := rdb.Get(ctx, "k0").Result(); err != nil || v != "0" {
		t.Errorf("GET k0 = %q, %v after the failover", v, err)
	}
}
