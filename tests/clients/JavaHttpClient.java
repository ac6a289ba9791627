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
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        URI proxy = URI.create(args[1]);
        String user = args[2];
        char[] password = args[3].toCharArray();
        String cafile = args[4];
        URI url = URI.create(args[5]);

        HttpClient.Builder builder = HttpClient.newBuilder()
                .proxy(ProxySelector.of(new InetSocketAddress(proxy.getHost(), proxy.getPort())))
                .connectTimeout(Duration.ofSeconds(20));
        if (mode.equals("authenticator")) {
            builder.authenticator(new Authenticator() {
                @Override
                protected PasswordAuthentication getPasswordAuthentication() {
                    if (getRequestorType() != RequestorType.PROXY) {
                        return null;
                    }
                    return new PasswordAuthentication(user, password);
                }
            });
        } else {
            throw new IllegalArgumentException("unknown mode " + mode);
        }
        if (!cafile.equals("-")) {
            builder.sslContext(trusting(cafile));
        }

        HttpRequest request = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(20)).build();
        try {
            HttpResponse<String> resp = builder.build().send(request, HttpResponse.BodyHandlers.ofString());
            System.out.println("{\"status\":" + resp.statusCode() + ",\"body\":" + json(resp.body()) + "}");
        } catch (IOException e) {
            System.out.println("{\"error\":" + json(e.getClass().getSimpleName() + ": " + e.getMessage()) + "}");
        }
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
