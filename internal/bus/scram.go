package bus

import (
	"crypto/sha256"
	"crypto/sha512"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

var (
	sha256Gen scram.HashGeneratorFcn = sha256.New
	sha512Gen scram.HashGeneratorFcn = sha512.New
)

// scramClient adapts xdg-go/scram to sarama's SCRAMClient.
type scramConversation struct {
	gen  scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func scramClient(gen scram.HashGeneratorFcn) func() sarama.SCRAMClient {
	return func() sarama.SCRAMClient { return &scramConversation{gen: gen} }
}

func (s *scramConversation) Begin(user, password, authzID string) error {
	c, err := s.gen.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	s.conv = c.NewConversation()
	return nil
}

func (s *scramConversation) Step(challenge string) (string, error) { return s.conv.Step(challenge) }

func (s *scramConversation) Done() bool { return s.conv.Done() }
