// Starts Apache Iceberg's REST catalog test servlet (RESTCatalogAdapter over a backend
// catalog, from iceberg-core's tests jar) on a Jetty 11 connector bound to one host.
//
// Why not the fixture's own RESTCatalogServer main: it calls `new Server(port)`, which
// listens on every interface, and has no host setting. This launcher builds the same
// backend catalog from the same CATALOG_* environment convention (CATALOG_FOO__BAR_BAZ →
// foo-bar.baz, values verbatim) and binds the address given on the command line.
//
// Usage: java -cp <libs>/*:<dir> Launcher <host> <port>
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.rest.RESTCatalogAdapter;
import org.apache.iceberg.rest.RESTCatalogServlet;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.gzip.GzipHandler;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;

public final class Launcher {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: Launcher <host> <port>");
      System.exit(2);
    }
    Map<String, String> props = new HashMap<>();
    for (Map.Entry<String, String> e : System.getenv().entrySet()) {
      String k = e.getKey();
      if (!k.startsWith("CATALOG_")) continue;
      String name =
          k.substring("CATALOG_".length()).replace("__", "-").replace('_', '.').toLowerCase(Locale.ROOT);
      props.put(name, e.getValue());
    }
    props.putIfAbsent("catalog-impl", "org.apache.iceberg.jdbc.JdbcCatalog");
    props.putIfAbsent("jdbc.schema-version", "V1");
    // SQLite allows one writer: with JdbcCatalog's default pool of 2 connections, two
    // concurrent commits fail with SQLITE_BUSY (seen as HTTP 500s, and the database stayed
    // locked afterwards). One connection serializes them; the busy timeout (a sqlite-jdbc
    // connection property, passed through as jdbc.*) covers any other reader.
    props.putIfAbsent("clients", "1");
    props.putIfAbsent("jdbc.busy_timeout", "10000");
    if (!props.containsKey("uri") || !props.containsKey("warehouse")) {
      System.err.println("CATALOG_URI and CATALOG_WAREHOUSE must be set");
      System.exit(2);
    }
    Map<String, String> shown = new HashMap<>();
    for (Map.Entry<String, String> e : props.entrySet()) {
      String k = e.getKey();
      boolean secret = k.contains("secret") || k.contains("password") || k.contains("token");
      shown.put(k, secret ? "***" : e.getValue());
    }
    System.err.println("backend catalog properties: " + shown);
    Catalog backend = CatalogUtil.buildIcebergCatalog("rest_backend", props, new Configuration());

    ServletContextHandler context = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    context.addServlet(new ServletHolder(new RESTCatalogServlet(new RESTCatalogAdapter(backend))), "/*");
    context.insertHandler(new GzipHandler());

    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost(args[0]);
    connector.setPort(Integer.parseInt(args[1]));
    server.addConnector(connector);
    server.setHandler(context);
    server.setStopAtShutdown(true);
    server.start();
    System.err.println("REST catalog listening on http://" + args[0] + ":" + args[1]);
    server.join();
  }
}
