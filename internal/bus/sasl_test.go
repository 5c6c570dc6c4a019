package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/flinkferry/flinkferry/internal/bus"
	"github.com/flinkferry/flinkferry/internal/testenv"
	"github.com/flinkferry/flinkferry/messages"
)

// TestSASL connects the router to a broker that requires SASL, with each
// supported mechanism, and a wrong password is refused.
func TestSASL(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			k := testenv.Kafka(t, kfake.EnableSASL(), kfake.Superuser(mech, "flinkferry", "s3cret"))
			cfg := k.BusConfig()
			cfg.SASL = bus.SASLConfig{Mechanism: mech, Username: "flinkferry", Password: "s3cret"}
			rec := newRecorder()
			startRouter(t, cfg, func(ctx context.Context, ev *messages.SubmitRequested) ([]bus.Out, error) {
				rec.add(ev.RequestID)
				return nil, nil
			})
			p, err := bus.NewProducer(cfg, "test")
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var req messages.SubmitRequested
			if err := jsonUnmarshal(submitJSON("sasl-1", "sasl"), &req); err != nil {
				t.Fatal(err)
			}
			if err := p.Send(context.Background(), &req, cfg.Topics().Submit); err != nil {
				t.Fatal(err)
			}
			rec.wait(t, 20*time.Second, "sasl-1")

			bad := cfg
			bad.SASL.Password = "Wr0ngPassw0rd"
			if _, err := bus.NewProducer(bad, "test"); err == nil {
				t.Error("producer with a wrong password connected")
			} else if containsString(err.Error(), "Wr0ngPassw0rd") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}
