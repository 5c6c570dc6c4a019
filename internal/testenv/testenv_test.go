package testenv

import (
	"net/http"
	"testing"
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
