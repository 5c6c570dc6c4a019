package build

import (
	"context"
	"fmt"
	"strings"

	"github.com/flinkferry/flinkferry/internal/failure"
	"github.com/flinkferry/flinkferry/messages"
)

// mavenURL maps group:artifact:version[:classifier] to the jar's URL in repo.
func mavenURL(repo, coord string) (string, error) {
	parts := strings.Split(coord, ":")
	if len(parts) < 3 || len(parts) > 4 {
		return "", failure.Permanentf(messages.BuildReasonBadMavenCoordinate, "maven coordinate %q is not group:artifact:version[:classifier]", coord)
	}
	for _, p := range parts {
		if p == "" || strings.ContainsAny(p, "/\\ ") || p == ".." {
			return "", failure.Permanentf(messages.BuildReasonBadMavenCoordinate, "maven coordinate %q has an invalid part", coord)
		}
	}
	g, a, v := parts[0], parts[1], parts[2]
	file := a + "-" + v
	if len(parts) == 4 {
		file += "-" + parts[3]
	}
	return fmt.Sprintf("%s/%s/%s/%s/%s.jar", strings.TrimRight(repo, "/"), strings.ReplaceAll(g, ".", "/"), a, v, file), nil
}

// resolveMaven returns the jar URL of coord and the sha1 the repository
// publishes for it (Maven repositories always publish .sha1 files).
func (h *Handler) resolveMaven(ctx context.Context, coord string) (string, string, error) {
	u, err := mavenURL(h.MavenRepository, coord)
	if err != nil {
		return "", "", err
	}
	text, err := h.Builder.Fetcher.FetchText(ctx, u+".sha1")
	if err != nil {
		return "", "", err
	}
	fields := strings.Fields(text)
	if len(fields) == 0 || len(fields[0]) != 40 {
		return "", "", failure.Permanentf(messages.BuildReasonChecksumMismatch, "the repository's checksum file for %s is not a sha1", coord)
	}
	return u, strings.ToLower(fields[0]), nil
}
