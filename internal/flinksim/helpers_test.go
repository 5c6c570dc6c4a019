package flinksim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flinkferry/flinkferry/internal/flinksim"
)

// env is a Server on a manual clock, driven in-process.
type env struct {
	t     testing.TB
	clock *flinksim.ManualClock
	srv   *flinksim.Server
}

func newEnv(t testing.TB) *env {
	t.Helper()
	clock := flinksim.NewManualClock(time.Time{})
	return &env{t: t, clock: clock, srv: flinksim.New(flinksim.ServerOptions{Clock: clock, Seed: 1})}
}

// do sends a request to the server in-process.
func (e *env) do(method, path string, body io.Reader, contentType string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

// call sends a JSON body (or none) and checks the status.
func (e *env) call(method, path, body string, wantStatus int) []byte {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	rec := e.do(method, path, r, "application/json")
	if got := rec.Code; got != wantStatus {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, got, rec.Body.String(), wantStatus)
	}
	return rec.Body.Bytes()
}

// getJSON GETs path, checks the status and decodes the body.
func (e *env) getJSON(path string, wantStatus int) map[string]any {
	e.t.Helper()
	var m map[string]any
	b := e.call(http.MethodGet, path, "", wantStatus)
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatalf("GET %s: decoding %s: %v", path, b, err)
	}
	return m
}

// upload posts a jar as multipart field "jarfile" and returns the jar id.
func (e *env) upload(cluster, name string, content []byte) string {
	e.t.Helper()
	body, ct := multipartJar(e.t, "jarfile", name, content)
	rec := e.do(http.MethodPost, "/c/"+cluster+"/jars/upload", body, ct)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("upload = %d %s", rec.Code, rec.Body)
	}
	var resp struct{ Filename, Status string }
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		e.t.Fatal(err)
	}
	if got, want := resp.Status, "success"; got != want {
		e.t.Fatalf("upload status = %q, want %q", got, want)
	}
	return resp.Filename[strings.LastIndex(resp.Filename, "/")+1:]
}

func multipartJar(t testing.TB, field, name string, content []byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

// path reads a value out of decoded JSON: path("a", 0, "b").
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}
