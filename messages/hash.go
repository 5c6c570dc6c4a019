package messages

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// ContentHash is the content hash of a decoded request or event:
// "sha256:" and the hex sha256 of its JSON encoding, so field order and
// spacing of the record it came from do not count. The same request id
// with another content hash is a conflict (request_id_conflict).
func ContentHash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("hashing content: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
