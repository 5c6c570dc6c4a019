package build

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// writeJar writes a valid jar (zip) with size bytes of random content.
func writeJar(t testing.TB, dir string, size int) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "META-INF/MANIFEST.MF", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Manifest-Version: 1.0\nMain-Class: org.example.WordCount\n")
	w, err = zw.CreateHeader(&zip.FileHeader{Name: "org/example/payload.bin", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, size)
	rand.Read(payload)
	w.Write(payload)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "wordcount.jar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, buf.Bytes()
}

func TestJarLayerIsValidAndReproducible(t *testing.T) {
	jarPath, jar := writeJar(t, t.TempDir(), 300_000)
	for _, enc := range []Encoding{EncodingGzipStored, EncodingGzipFast} {
		t.Run(string(enc), func(t *testing.T) {
			var digests []string
			for range 2 {
				l, err := newJarLayer(jarPath, "wordcount.jar", int64(len(jar)), enc, types.OCILayer)
				if err != nil {
					t.Fatal(err)
				}
				rc, err := l.Compressed()
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, rc) // computes the digests
				rc.Close()
				d, err := l.Digest()
				if err != nil {
					t.Fatal(err)
				}
				digests = append(digests, d.String())
			}
			if digests[0] != digests[1] {
				t.Errorf("layer not reproducible: %v", digests)
			}
		})
	}
	// The stream is a valid gzip'd tar layer holding the jar as flink, 0644.
	l, _ := newJarLayer(jarPath, "wordcount.jar", int64(len(jar)), EncodingGzipStored, types.DockerLayer)
	rc, _ := l.Compressed()
	io.Copy(io.Discard, rc)
	rc.Close()
	if err := validate.Layer(staticCopy(t, jarPath, int64(len(jar)))); err != nil {
		t.Errorf("validate.Layer: %v", err)
	}
	assertJarInLayer(t, staticCopy(t, jarPath, int64(len(jar))), jar)
}

func TestJarLayerFailsWhenTheJarShrinks(t *testing.T) {
	jarPath, jar := writeJar(t, t.TempDir(), 10_000)
	l, err := newJarLayer(jarPath, "wordcount.jar", int64(len(jar))+100, EncodingGzipStored, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := l.Compressed()
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err == nil {
		t.Error("reading a layer of a shrunken jar succeeded")
	}
}

func TestJarName(t *testing.T) {
	for in, want := range map[string]string{
		"/repo/wordcount-1.0.jar": "wordcount-1.0.jar",
		"/download":               "download.jar",
		"/":                       "job.jar",
		"/a/../../etc/passwd":     "passwd.jar",
		"/x/my job (final).jar":   "my_job_final_.jar",
		"/x/..jar":                "jar.jar",
	} {
		if got := jarName(in); got != want {
			t.Errorf("jarName(%q) = %q, want %q", in, got, want)
		}
	}
}
