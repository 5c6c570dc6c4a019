package flinksim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// decodeBody decodes a JSON request body strictly, as Flink's REST mapper
// does (unknown fields are errors); an empty body counts as {}.
func decodeBody(r *http.Request, v any, typeName string) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading request body: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("Request did not match expected format %s.", typeName)
	}
	return nil
}

type savepointTriggerRequest struct {
	TargetDirectory string `json:"target-directory"`
	CancelJob       bool   `json:"cancel-job"`
	FormatType      string `json:"formatType"`
	TriggerID       string `json:"triggerId"`
}

type stopRequest struct {
	TargetDirectory string `json:"targetDirectory"`
	Drain           bool   `json:"drain"`
	FormatType      string `json:"formatType"`
	TriggerID       string `json:"triggerId"`
}

type disposalRequest struct {
	SavepointPath string `json:"savepoint-path"`
}
