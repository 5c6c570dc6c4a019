package flinksim

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Jar is a jar uploaded through POST /jars/upload.
type Jar struct {
	// ID is the jar id: the last path segment of the upload's filename.
	ID string
	// Name is the uploaded file name.
	Name string
	// Size is the jar's size in bytes.
	Size int64
	// SHA256 is the hex SHA-256 of the jar's bytes.
	SHA256 string
	// EntryClass is the manifest's Main-Class (or program-class), if the
	// jar is a zip file of at most 8 MiB that has one.
	EntryClass string
	// Uploaded is when the upload finished.
	Uploaded time.Time
}

const maxManifestScan = 8 << 20

func (c *Cluster) uploadDir() string { return "/tmp/flink-web-" + c.name + "/flink-web-upload" }

// handleJarUpload answers POST /jars/upload: exactly one file part (Flink
// accepts any field name; clients use "jarfile") whose name ends in .jar.
func handleJarUpload(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	if c.opts.Application {
		writeError(w, http.StatusNotFound, "Not found: "+requestURI(r, p.path))
		return
	}
	var jars []Jar
	if mr, err := r.MultipartReader(); err == nil {
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				writeError(w, http.StatusBadRequest, "Bad request: could not read multipart upload.")
				return
			}
			if part.FileName() == "" {
				continue
			}
			jar, err := readJar(part)
			if err != nil {
				writeError(w, http.StatusBadRequest, "Bad request: could not read multipart upload.")
				return
			}
			jars = append(jars, jar)
		}
	}
	if len(jars) != 1 {
		writeError(w, http.StatusBadRequest, restError("org.apache.flink.runtime.rest.handler.RestHandlerException",
			"Exactly 1 file must be sent, received "+strconv.Itoa(len(jars))+"."))
		return
	}
	jar := jars[0]
	if !strings.HasSuffix(jar.Name, ".jar") {
		writeError(w, http.StatusBadRequest, restError("org.apache.flink.runtime.rest.handler.RestHandlerException",
			"Only Jar files are allowed."))
		return
	}
	c.mu.Lock()
	jar.ID = c.uuid() + "_" + jar.Name
	jar.Uploaded = c.clock.Now()
	c.jars = append(c.jars, &jar)
	dir := c.uploadDir()
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Filename string `json:"filename"`
		Status   string `json:"status"`
	}{dir + "/" + jar.ID, "success"})
}

// readJar hashes a file part and reads its manifest's entry class.
func readJar(part io.Reader) (Jar, error) {
	name := ""
	if p, ok := part.(interface{ FileName() string }); ok {
		name = p.FileName()
		if i := strings.LastIndexAny(name, `/\`); i >= 0 {
			name = name[i+1:]
		}
	}
	h := sha256.New()
	var head bytes.Buffer
	n, err := io.Copy(io.MultiWriter(h, &limitedBuffer{&head, maxManifestScan + 1}), part)
	if err != nil {
		return Jar{}, err
	}
	jar := Jar{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	if n <= maxManifestScan {
		jar.EntryClass = manifestEntryClass(head.Bytes())
	}
	return jar, nil
}

// limitedBuffer keeps at most max bytes and drops the rest.
type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// manifestEntryClass returns program-class or Main-Class of a jar's
// manifest, as Flink's PackagedProgram looks them up.
func manifestEntryClass(jar []byte) string {
	zr, err := zip.NewReader(bytes.NewReader(jar), int64(len(jar)))
	if err != nil {
		return ""
	}
	f, err := zr.Open("META-INF/MANIFEST.MF")
	if err != nil {
		return ""
	}
	defer f.Close()
	attrs := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			attrs[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if v := attrs["program-class"]; v != "" {
		return v
	}
	return attrs["Main-Class"]
}

// jarListInfo is Flink's JarListInfo (GET /jars).
type jarListInfo struct {
	Address string        `json:"address"`
	Files   []jarFileInfo `json:"files"`
}

type jarFileInfo struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Uploaded int64          `json:"uploaded"`
	Entry    []jarEntryInfo `json:"entry"`
}

type jarEntryInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func handleJarList(c *Cluster, w http.ResponseWriter, r *http.Request, p *params) {
	if c.opts.Application {
		writeError(w, http.StatusNotFound, "Not found: "+requestURI(r, p.path))
		return
	}
	c.mu.Lock()
	out := jarListInfo{Address: "http://" + c.config("rest.address") + ":" + c.config("rest.port"), Files: []jarFileInfo{}}
	for i := len(c.jars) - 1; i >= 0; i-- { // newest first, as Flink sorts them
		j := c.jars[i]
		f := jarFileInfo{ID: j.ID, Name: j.Name, Uploaded: millis(j.Uploaded), Entry: []jarEntryInfo{}}
		if j.EntryClass != "" {
			f.Entry = append(f.Entry, jarEntryInfo{Name: j.EntryClass, Description: "No description provided"})
		}
		out.Files = append(out.Files, f)
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
