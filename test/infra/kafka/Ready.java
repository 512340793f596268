// Readiness probe for test/infra/kafka.sh, compiled once into the jar cache and run
// against the broker's own jars:  java -cp "<classes>:libs/*" Ready <bootstrap> <timeout-ms> [pid]
// Ready means: the broker answers a metadata request (Admin.describeCluster) and lists at
// least one live broker, i.e. it has registered with the controller and is unfenced.
// Exits 0 when ready, 1 on timeout, 2 when the watched broker process <pid> has exited.
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

public class Ready {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    long deadline = System.currentTimeMillis() + Long.parseLong(args[1]);
    Long pid = args.length > 2 ? Long.valueOf(args[2]) : null;
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "100");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
    try (Admin admin = Admin.create(props)) {
      String last = "no answer";
      while (System.currentTimeMillis() < deadline) {
        if (pid != null && ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true)) {
          System.err.println("broker process " + pid + " exited");
          System.exit(2);
        }
        try {
          int live = admin.describeCluster(new DescribeClusterOptions().timeoutMs(3000))
              .nodes().get(4, TimeUnit.SECONDS).size();
          if (live > 0) {
            System.out.println("ready: " + live + " live broker(s) at " + bootstrap);
            System.exit(0);
          }
          last = "metadata lists no live broker yet";
        } catch (Exception e) {
          last = e.toString();
        }
        Thread.sleep(250);
      }
      System.err.println("not ready before the deadline: " + last);
      System.exit(1);
    }
  }
}
