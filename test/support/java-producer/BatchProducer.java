import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Produces test records with Kafka's own Java producer (kafka-clients from the broker's
 * jars), so that the record batches on the broker are framed by the reference client.
 *
 * <p>Usage: java -cp <libs>/*:<dir> BatchProducer <bootstrap> <job>... with each job
 * <topic>:<compression>:<mode>:<count>, run in order.
 *
 * <p>mode plain: count records with keys, headers, tombstones and empty values mixed in
 * (the same rules as produce_batches.py), in small batches (batch.size 2 KiB, linger 5 ms).
 * mode txn: two transactional producers A and B and an idempotent non-transactional one C
 * write 4 rounds whose transactions interleave; each round one of A and B commits, the
 * other aborts. Prints two lines: the committed values and the aborted values, each a JSON
 * array of strings (null for a tombstone), per job, in the order of the jobs (which run
 * concurrently).
 */
public final class BatchProducer {
  private BatchProducer() {}

  private static Properties config(String bootstrap, String compression) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("compression.type", compression);
    p.put("linger.ms", "5");
    p.put("batch.size", "2048");
    p.put("enable.idempotence", "true");
    p.put("key.serializer", ByteArraySerializer.class.getName());
    p.put("value.serializer", ByteArraySerializer.class.getName());
    return p;
  }

  private static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  private static String value(String src, int i) {
    if (i % 17 == 0) return null;
    if (i % 19 == 0) return "";
    return "{\"src\": " + json(src) + ", \"i\": " + i + ", \"s\": " + json("é✓".repeat(i % 4))
        + ", \"pad\": " + json("x".repeat(i % 50)) + "}";
  }

  private static ProducerRecord<byte[], byte[]> record(String topic, String src, int i) {
    byte[] key = i % 10 == 0 ? null : ("k" + (i % 13)).getBytes(StandardCharsets.UTF_8);
    String v = value(src, i);
    RecordHeaders h = new RecordHeaders();
    h.add("n", String.valueOf(i).getBytes(StandardCharsets.UTF_8));
    h.add("src", src.getBytes(StandardCharsets.UTF_8));
    if (i % 3 == 0) h.add("none", null);
    byte[] value = v == null ? null : v.getBytes(StandardCharsets.UTF_8);
    return new ProducerRecord<>(topic, 0, null, key, value, h);
  }

  private static String array(List<String> vs) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < vs.size(); i++) {
      if (i > 0) b.append(',');
      b.append(vs.get(i) == null ? "null" : json(vs.get(i)));
    }
    return b.append(']').toString();
  }

  public static void main(String[] args) throws Exception {
    // Jobs run at once (they are independent topics); their output is printed in order.
    ExecutorService pool = Executors.newFixedThreadPool(args.length - 1);
    List<Future<String>> outputs = new ArrayList<>();
    for (int j = 1; j < args.length; j++) {
      String[] job = args[j].split(":");
      outputs.add(pool.submit(() -> run(args[0], job[0], job[1], job[2], Integer.parseInt(job[3]))));
    }
    for (Future<String> f : outputs) System.out.print(f.get());
    pool.shutdown();
  }

  private static String run(String bootstrap, String topic, String compression, String mode, int count)
      throws Exception {
    List<String> committed = new ArrayList<>();
    List<String> aborted = new ArrayList<>();
    if (mode.equals("plain")) {
      try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(config(bootstrap, compression))) {
        String src = "java-" + compression;
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          sent.add(p.send(record(topic, src, i)));
          committed.add(value(src, i));
          if (i % 100 == 99) p.flush();
        }
        p.flush();
        for (Future<RecordMetadata> f : sent) f.get();
      }
    } else {
      Properties ca = config(bootstrap, compression);
      ca.put("transactional.id", topic + "-A");
      Properties cb = config(bootstrap, compression);
      cb.put("transactional.id", topic + "-B");
      try (KafkaProducer<byte[], byte[]> a = new KafkaProducer<>(ca);
          KafkaProducer<byte[], byte[]> b = new KafkaProducer<>(cb);
          KafkaProducer<byte[], byte[]> c = new KafkaProducer<>(config(bootstrap, compression))) {
        a.initTransactions();
        b.initTransactions();
        int seq = 0;
        for (int rnd = 0; rnd < 4; rnd++) {
          a.beginTransaction();
          b.beginTransaction();
          List<String> gotA = new ArrayList<>();
          List<String> gotB = new ArrayList<>();
          List<String> gotC = new ArrayList<>();
          String[] names = {"A", "B", "C", "A"};
          for (String name : names) {
            KafkaProducer<byte[], byte[]> p = name.equals("A") ? a : name.equals("B") ? b : c;
            List<String> got = name.equals("A") ? gotA : name.equals("B") ? gotB : gotC;
            String src = "java-txn-" + name + "-r" + rnd;
            for (int k = 0; k < count; k++, seq++) {
              p.send(record(topic, src, seq));
              got.add(value(src, seq));
            }
            p.flush();
          }
          committed.addAll(gotC);
          if (rnd % 2 == 0) {
            b.abortTransaction();
            a.commitTransaction();
            committed.addAll(gotA);
            aborted.addAll(gotB);
          } else {
            a.abortTransaction();
            b.commitTransaction();
            committed.addAll(gotB);
            aborted.addAll(gotA);
          }
        }
      }
    }
    return array(committed) + "\n" + array(aborted) + "\n";
  }
}
