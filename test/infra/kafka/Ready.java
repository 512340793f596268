// Readiness probe for test/infra/kafka.sh, compiled once into the jar cache and run
// against the broker's own jars:
//   java -cp "<classes>:libs/*" Ready <bootstrap> <timeout-ms> <pid|-> [<sasl-addr> <ca.pem> <user> <password-file> <upsert 0|1>]
// Ready means: the broker answers a metadata request (Admin.describeCluster) and lists at
// least one live broker, i.e. it has registered with the controller and is unfenced.
// With the SASL arguments it then, over the plaintext listener, upserts the user's
// SCRAM-SHA-512 and SCRAM-SHA-256 credentials when <upsert> is 1 (Admin
// alterUserScramCredentials, stored in the KRaft metadata), and waits until the same
// metadata request succeeds over the SASL_SSL listener, authenticated with SCRAM-SHA-512
// and trusting only <ca.pem>.
// Exits 0 when ready, 1 on timeout, 2 when the watched broker process <pid> has exited.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

public class Ready {
  static long deadline;
  static Long pid;

  static Properties base(String bootstrap) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "100");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
    return props;
  }

  /** Polls describeCluster until it lists a live broker; exits the JVM on timeout / broker exit. */
  static void awaitLive(Admin admin, String what) throws InterruptedException {
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
          System.out.println("ready: " + live + " live broker(s) at " + what);
          return;
        }
        last = "metadata lists no live broker yet";
      } catch (Exception e) {
        last = e.toString();
      }
      Thread.sleep(250);
    }
    System.err.println(what + " not ready before the deadline: " + last);
    System.exit(1);
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    deadline = System.currentTimeMillis() + Long.parseLong(args[1]);
    pid = args.length > 2 && !args[2].equals("-") ? Long.valueOf(args[2]) : null;
    try (Admin admin = Admin.create(base(bootstrap))) {
      awaitLive(admin, bootstrap);
      if (args.length < 8) System.exit(0);
      String saslAddr = args[3], ca = args[4], user = args[5];
      String password = Files.readString(Path.of(args[6]), StandardCharsets.UTF_8).trim();
      if (args[7].equals("1")) {
        // One request per mechanism: the broker rejects a request that alters the same
        // user twice (DuplicateResourceException), even for two mechanisms.
        for (ScramMechanism m : List.of(ScramMechanism.SCRAM_SHA_512, ScramMechanism.SCRAM_SHA_256)) {
          admin.alterUserScramCredentials(List.of(
              new UserScramCredentialUpsertion(user, new ScramCredentialInfo(m, 8192), password)))
              .all().get(30, TimeUnit.SECONDS);
        }
        System.out.println("scram credentials of " + user + " upserted");
      }
      Properties sasl = base(saslAddr);
      sasl.put("security.protocol", "SASL_SSL");
      sasl.put("sasl.mechanism", "SCRAM-SHA-512");
      sasl.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule"
          + " required username=\"" + user + "\" password=\"" + password + "\";");
      sasl.put("ssl.truststore.type", "PEM");
      sasl.put("ssl.truststore.location", ca);
      try (Admin secure = Admin.create(sasl)) {
        awaitLive(secure, saslAddr + " (SASL_SSL, SCRAM-SHA-512)");
      }
    }
    System.exit(0);
  }
}
