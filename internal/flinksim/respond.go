package flinksim

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
)

// Header values shared by every response (never mutated).
var (
	hdrJSON = []string{"application/json; charset=UTF-8"}
	hdrStar = []string{"*"}
)

// writeBody sends body as a Flink JSON response.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Access-Control-Allow-Origin"] = hdrStar
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeJSON marshals v and sends it with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Internal server error.")
		return
	}
	writeBody(w, status, b)
}

// errorBody is Flink's ErrorResponseBody.
type errorBody struct {
	Errors []string `json:"errors"`
}

// writeError sends Flink's error body {"errors":[msg]}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Errors: []string{msg}})
}

// restError is the text Flink puts in errors[0] for a RestHandlerException:
// the exception's stack trace, starting with its class and message.
func restError(class, msg string) string {
	return class + ": " + msg + "\n\tat org.apache.flink.runtime.rest.handler.AbstractRestHandler.respondToRequest(AbstractRestHandler.java:83)\n"
}

// notFoundError is Flink's NotFoundException text.
func notFoundError(msg string) string {
	return restError("org.apache.flink.runtime.rest.NotFoundException", msg)
}

// badRequest is Flink's answer to unparsable path or query parameters.
func badRequest(msg string) string {
	return restError("org.apache.flink.runtime.rest.handler.RestHandlerException", msg)
}

// jsonFloat is a Java double as Flink's Jackson writes it: NaN becomes
// the string "NaN", whole numbers keep a ".0".
type jsonFloat float64

// MarshalJSON implements json.Marshaler.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	b := strconv.AppendFloat(nil, v, 'f', -1, 64)
	for _, c := range b {
		if c == '.' {
			return b, nil
		}
	}
	return append(b, '.', '0'), nil
}

// emptyBody is Flink's EmptyResponseBody.
var emptyBody = []byte("{}")
