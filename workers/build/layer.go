package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/stream"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where and as whom the jar lands in the image: the official Flink images
// run as flink (uid/gid 9999) and load application jars from usrlib.
const (
	UsrlibDir = "/opt/flink/usrlib"
	flinkUID  = 9999
	flinkGID  = 9999
)

// epoch is the fixed timestamp of every layer entry and history record, so
// the same inputs always give the same digest.
var epoch = time.Unix(0, 0).UTC()

// Encoding is how the jar layer is compressed. A jar is already a deflated
// zip, so compressing it again buys almost nothing and costs most of the
// build time (see BENCHMARKS.md).
type Encoding string

const (
	// EncodingGzipStored is gzip level 0 ("stored" blocks): a gzip stream
	// every runtime reads, at the cost of a copy and a CRC.
	EncodingGzipStored Encoding = "gzip-stored"
	// EncodingGzipFast is gzip level 1.
	EncodingGzipFast Encoding = "gzip-fast"
)

func (e Encoding) level() (int, error) {
	switch e {
	case EncodingGzipStored, "":
		return gzip.NoCompression, nil
	case EncodingGzipFast:
		return gzip.BestSpeed, nil
	}
	return 0, fmt.Errorf("unknown layer encoding %q (want %s or %s)", e, EncodingGzipStored, EncodingGzipFast)
}

// layerMediaType matches the jar layer's media type to the base's manifest.
func layerMediaType(baseManifest types.MediaType) types.MediaType {
	if baseManifest == types.OCIManifestSchema1 || baseManifest == types.OCIImageIndex {
		return types.OCILayer
	}
	return types.DockerLayer
}

// newJarLayer returns a streaming layer holding the jar at
// /opt/flink/usrlib/<name>, owned by flink, mode 0644, fixed timestamps.
// Nothing is held in memory and nothing is computed ahead: the tar stream
// is the tar headers, the jar file and the padding, and its digests are
// computed while it uploads (one pass over the jar).
func newJarLayer(jarPath, name string, size int64, enc Encoding, mt types.MediaType) (*stream.Layer, error) {
	level, err := enc.level()
	if err != nil {
		return nil, err
	}
	hdr, err := tarHeaders(name, size)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(jarPath)
	if err != nil {
		return nil, fmt.Errorf("opening jar: %w", err)
	}
	pad := (512 - size%512) % 512
	body := io.MultiReader(bytes.NewReader(hdr), &exactReader{r: f, left: size}, bytes.NewReader(make([]byte, pad+1024)))
	rc := struct {
		io.Reader
		io.Closer
	}{body, f}
	return stream.NewLayer(rc, stream.WithCompressionLevel(level), stream.WithMediaType(mt)), nil
}

// exactReader reads exactly left bytes, failing if the file is shorter
// (it changed since it was fetched).
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, fmt.Errorf("jar shrank while building: %w", io.ErrUnexpectedEOF)
	}
	return n, err
}

// tarHeaders returns the tar headers of usrlib (owned by flink) and of the jar.
func tarHeaders(name string, size int64) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := path.Clean(UsrlibDir[1:]) + "/"
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, Uid: flinkUID, Gid: flinkGID, Uname: "flink", Gname: "flink", ModTime: epoch},
		{Typeflag: tar.TypeReg, Name: dir + name, Mode: 0o644, Size: size, Uid: flinkUID, Gid: flinkGID, Uname: "flink", Gname: "flink", ModTime: epoch},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing tar header: %w", err)
		}
	}
	// No tw.Close: the file body and the end-of-archive follow in newJarLayer.
	return buf.Bytes(), nil
}
