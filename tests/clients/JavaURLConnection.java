// Fetch a URL through a proxy with java.net.HttpURLConnection, as
// internal/clienttest asks (it compiles this with JavaHttpClient.java, whose
// helpers it uses). Usage:
//
//   java [-Djdk.http.auth.tunneling.disabledSchemes=] JavaURLConnection MODE PROXY USER PASSWORD CAFILE URL
//
// MODE "authenticator" installs a default Authenticator that answers the
// proxy's challenge: HttpURLConnection knows Basic and Digest (and NTLM,
// Negotiate). CAFILE is the origin certificate to trust, or "-". Prints one
// JSON line: the final status and body, or the error.

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Authenticator;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.HttpsURLConnection;

public class JavaURLConnection {
    public static void main(String[] argv) throws Exception {
        JavaHttpClient.Args args = new JavaHttpClient.Args(argv);
        if (!args.mode.equals("authenticator")) {
            throw new IllegalArgumentException("unknown mode " + args.mode);
        }
        Authenticator.setDefault(JavaHttpClient.proxyAuthenticator(args.user, args.password));

        try {
            HttpURLConnection conn = (HttpURLConnection) args.url.toURL().openConnection(new Proxy(Proxy.Type.HTTP, args.proxyAddress()));
            conn.setConnectTimeout(20000);
            conn.setReadTimeout(20000);
            if (conn instanceof HttpsURLConnection && !args.cafile.equals("-")) {
                ((HttpsURLConnection) conn).setSSLSocketFactory(JavaHttpClient.trusting(args.cafile).getSocketFactory());
            }
            int status = conn.getResponseCode();
            InputStream in = status >= 400 ? conn.getErrorStream() : conn.getInputStream();
            String body = "";
            if (in != null) {
                try (in) {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    in.transferTo(out);
                    body = out.toString(StandardCharsets.UTF_8);
                }
            }
            System.out.println("{\"status\":" + status + ",\"body\":" + JavaHttpClient.json(body) + "}");
        } catch (IOException e) {
            System.out.println("{\"error\":" + JavaHttpClient.json(e.getClass().getSimpleName() + ": " + e.getMessage()) + "}");
        }
    }
}
