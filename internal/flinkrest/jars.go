package flinkrest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
)

// JarContentType is the content type of an uploaded jar, as Flink's
// documentation asks.
const JarContentType = "application/x-java-archive"

// sizer is a reader that knows how many bytes it holds (bytes.Reader,
// strings.Reader, Sized).
type sizer interface{ Size() int64 }

type sizedReader struct {
	io.Reader
	n int64
}

func (r sizedReader) Size() int64 { return r.n }

// Sized tells UploadJar that r holds exactly n bytes, so the upload is
// sent with a Content-Length instead of chunked.
func Sized(r io.Reader, n int64) io.Reader { return sizedReader{r, n} }

// UploadJar uploads a jar to the JobManager at base (POST /jars/upload, one
// multipart file field "jarfile" named name, which must end in ".jar")
// and returns its jar id: the last path element of the "filename" Flink
// answers. r is streamed, never held in memory; when it has a Size()
// int64 method (bytes.Reader, strings.Reader, Sized) the request carries
// a Content-Length, otherwise it is sent chunked. The upload is bounded
// by Options.SubmitTimeout.
func (c *Client) UploadJar(ctx context.Context, base, name string, r io.Reader) (string, error) {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="jarfile"; filename="%s"`, quoteEscaper.Replace(name)))
	hdr.Set("Content-Type", JarContentType)
	if _, err := mw.CreatePart(hdr); err != nil {
		return "", fmt.Errorf("writing the multipart header: %w", err)
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	length := int64(-1)
	if s, ok := r.(sizer); ok {
		length = int64(head.Len()) + s.Size() + int64(len(tail))
	}
	body := io.MultiReader(&head, r, strings.NewReader(tail))
	var w struct {
		Filename string `json:"filename"`
		Status   string `json:"status"`
	}
	url := endpoint(base, "/jars/upload")
	if err := c.doJSON(ctx, c.submitTimeout, http.MethodPost, url, body, mw.FormDataContentType(), length, &w); err != nil {
		return "", err
	}
	id := w.Filename
	if i := strings.LastIndexAny(id, `/\`); i >= 0 {
		id = id[i+1:]
	}
	if id == "" {
		return "", &DecodeError{Method: http.MethodPost, URL: sanitizeURL(url), StatusCode: http.StatusOK, ContentType: "application/json",
			Err: errors.New("the upload answer names no file")}
	}
	return id, nil
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "")

// RunRequest is the body of POST /jars/{jarid}/run (Flink's
// JarRunRequestBody). Zero fields are left out, so Flink's defaults apply.
type RunRequest struct {
	// EntryClass is the program's main class (default: the jar
	// manifest's).
	EntryClass string `json:"entryClass,omitempty"`
	// ProgramArgsList are the program arguments.
	ProgramArgsList []string `json:"programArgsList,omitempty"`
	// Parallelism is the job's default parallelism (0: the cluster's).
	Parallelism int `json:"parallelism,omitempty"`
	// JobID is the job id to use, 32 lower-case hex characters; a client
	// that chooses it can find the job again after a lost answer.
	JobID string `json:"jobId,omitempty"`
	// SavepointPath restores the job from a savepoint or retained
	// checkpoint.
	SavepointPath string `json:"savepointPath,omitempty"`
	// AllowNonRestoredState skips savepoint state without an operator.
	AllowNonRestoredState bool `json:"allowNonRestoredState,omitempty"`
	// RestoreMode is CLAIM, NO_CLAIM or LEGACY (default NO_CLAIM).
	RestoreMode string `json:"restoreMode,omitempty"`
	// FlinkConfiguration are per-job configuration options.
	FlinkConfiguration map[string]string `json:"flinkConfiguration,omitempty"`
}

// RunJar runs the uploaded jar jarID (POST /jars/{jarid}/run) and returns
// the id of the job it started. Flink runs the program's main method
// before it answers; a main method that fails, and a JobID already in use
// on the cluster (running or ended), are 400 answers (IsBadRequest) whose
// Errors hold Flink's reason. The run is bounded by Options.SubmitTimeout.
func (c *Client) RunJar(ctx context.Context, base, jarID string, req RunRequest) (string, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("encoding the run request: %w", err)
	}
	var w struct {
		JobID string `json:"jobid"`
	}
	url := endpoint(base, "/jars/"+pathEscape(jarID)+"/run")
	if err := c.doJSON(ctx, c.submitTimeout, http.MethodPost, url, bytes.NewReader(b), "application/json", int64(len(b)), &w); err != nil {
		return "", err
	}
	if w.JobID == "" {
		return "", &DecodeError{Method: http.MethodPost, URL: sanitizeURL(url), StatusCode: http.StatusOK, ContentType: "application/json",
			Err: errors.New("the run answer names no job id")}
	}
	return strings.ToLower(w.JobID), nil
}

// DeleteJar deletes the uploaded jar jarID (DELETE /jars/{jarid}). An
// unknown jar is an *Error for which IsNotFound is true.
func (c *Client) DeleteJar(ctx context.Context, base, jarID string) error {
	return c.doJSON(ctx, c.timeout, http.MethodDelete, endpoint(base, "/jars/"+pathEscape(jarID)), nil, "", -1, nil)
}
