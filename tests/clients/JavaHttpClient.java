// Fetch a URL through a proxy with java.net.http.HttpClient, as
// internal/clienttest asks (it compiles this with javac first; java
// JavaHttpClient.java ... runs it from source too). Usage:
//
//   java [-Djdk.http.auth.tunneling.disabledSchemes=] JavaHttpClient MODE PROXY USER PASSWORD CAFILE URL
//
// MODE "authenticator" gives the client an Authenticator that answers the
// proxy's challenge. CAFILE is the origin certificate to trust, or "-".
// Prints one JSON line: the final status and body, or the error.

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Authenticator;
import java.net.InetSocketAddress;
import java.net.PasswordAuthentication;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public class JavaHttpClient {
    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        HttpClient.Builder builder = HttpClient.newBuilder()
                .proxy(ProxySelector.of(args.proxyAddress()))
                .connectTimeout(Duration.ofSeconds(20));
        if (args.mode.equals("authenticator")) {
            builder.authenticator(proxyAuthenticator(args.user, args.password));
        } else {
            throw new IllegalArgumentException("unknown mode " + args.mode);
        }
        if (!args.cafile.equals("-")) {
            builder.sslContext(trusting(args.cafile));
        }

        HttpRequest request = HttpRequest.newBuilder(args.url).timeout(Duration.ofSeconds(20)).build();
        try {
            HttpResponse<String> resp = builder.build().send(request, HttpResponse.BodyHandlers.ofString());
            System.out.println("{\"status\":" + resp.statusCode() + ",\"body\":" + json(resp.body()) + "}");
        } catch (IOException e) {
            System.out.println("{\"error\":" + json(e.getClass().getSimpleName() + ": " + e.getMessage()) + "}");
        }
    }

    // Args is the command line of both Java clients:
    // MODE PROXY USER PASSWORD CAFILE URL.
    static final class Args {
        final String mode;
        final URI proxy;
        final String user;
        final char[] password;
        final String cafile;
        final URI url;

        Args(String[] argv) {
            mode = argv[0];
            proxy = URI.create(argv[1]);
            user = argv[2];
            password = argv[3].toCharArray();
            cafile = argv[4];
            url = URI.create(argv[5]);
        }

        InetSocketAddress proxyAddress() {
            return new InetSocketAddress(proxy.getHost(), proxy.getPort());
        }
    }

    // proxyAuthenticator gives the credentials to the proxy's challenges
    // only.
    static Authenticator proxyAuthenticator(String user, char[] password) {
        return new Authenticator() {
            @Override
            protected PasswordAuthentication getPasswordAuthentication() {
                if (getRequestorType() != RequestorType.PROXY) {
                    return null;
                }
                return new PasswordAuthentication(user, password);
            }
        };
    }

    // trusting is a TLS context that trusts exactly the certificates in pemFile.
    static SSLContext trusting(String pemFile) throws Exception {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        try (InputStream in = new FileInputStream(pemFile)) {
            store.setCertificateEntry("origin", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    static String json(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.append('"').toString();
    }
}
