// Starts one Pinot 1.x role (controller, broker, server) from its starter class and a properties file.
//
//   java -cp LAUNCHER_DIR:$CP PinotRole org.apache.pinot.controller.ControllerStarter controller.conf
//
// pinot-tools (PinotAdministrator, which 0.11's harness uses) is not served for 1.x by every registry,
// and the roles need no more than this: every 1.x starter is a ServiceStartable that takes a flat
// PinotConfiguration. pinot_cluster.py compiles this file with javac once per version and caches it.

import java.io.FileReader;
import java.io.Reader;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import org.apache.pinot.spi.env.PinotConfiguration;
import org.apache.pinot.spi.services.ServiceStartable;

public final class PinotRole {
  private PinotRole() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: PinotRole STARTER_CLASS PROPERTIES_FILE");
      System.exit(2);
    }
    Properties props = new Properties();
    try (Reader reader = new FileReader(args[1])) {
      props.load(reader);
    }
    Map<String, Object> config = new HashMap<>();
    props.stringPropertyNames().forEach(key -> config.put(key, props.getProperty(key)));

    ServiceStartable role = (ServiceStartable) Class.forName(args[0]).getDeclaredConstructor().newInstance();
    long begin = System.nanoTime();
    try {
      role.init(new PinotConfiguration(config));
      role.start();
    } catch (Throwable e) {
      // exit at once: the harness watches the process and points at this log
      e.printStackTrace();
      System.exit(1);
    }
    System.out.printf("PinotRole: %s %s started in %d ms%n", role.getServiceRole(), role.getInstanceId(),
        (System.nanoTime() - begin) / 1_000_000);
    // SIGTERM: leave the cluster cleanly (a server waits for its queries, within its shutdown timeout)
    Runtime.getRuntime().addShutdownHook(new Thread(role::stop, "pinotops-stop"));
    Thread.currentThread().join();
  }
}
