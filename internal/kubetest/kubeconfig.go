package kubetest

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// userAuth is the user entry of a kubeconfig, as YAML lines under "user:".
type userAuth []string

func clientCert(certPEM, keyPEM []byte) userAuth {
	return userAuth{
		"client-certificate-data: " + base64.StdEncoding.EncodeToString(certPEM),
		"client-key-data: " + base64.StdEncoding.EncodeToString(keyPEM),
	}
}

func bearerToken(token string) userAuth {
	return userAuth{"token: " + strconv.Quote(token)}
}

// kubeconfig renders a kubeconfig with one cluster, one user and one
// context, everything embedded. It is written by hand rather than with
// client-go's clientcmd to keep that package's dependencies out of the
// module; the output is plain YAML any client loads.
func kubeconfig(host string, caPEM []byte, user string, auth userAuth) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
`, strconv.Quote(host), base64.StdEncoding.EncodeToString(caPEM), strconv.Quote(user))
	for _, line := range auth {
		b.WriteString("    " + line + "\n")
	}
	fmt.Fprintf(&b, `contexts:
- name: kubetest
  context:
    cluster: kubetest
    user: %s
current-context: kubetest
`, strconv.Quote(user))
	return []byte(b.String())
}
