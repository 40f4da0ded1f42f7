package io.egressguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The CLI through its picocli entry point, on files: output, exit codes and errors. */
class CheckCommandTest {

    static final Path DATA = Path.of("src/test/resources/cli");

    record Run(int exit, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = EgressGuardCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    static Run runWithStdin(String stdin, String... args) {
        InputStream saved = System.in;
        System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
        try {
            return run(args);
        } finally {
            System.setIn(saved);
        }
    }

    @Test
    void checkPrintsKubectlLinesAndExits1WhenSomethingIsRefused() {
        Run r = run("check", DATA.resolve("mixed.yaml").toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains(DATA.resolve("mixed.yaml") + "#0 Deployment team-a/agent: denied\n"
                + "  [no-host-network] spec.template.spec.hostNetwork: true shares the node network namespace");
        assertThat(r.out()).contains("#1 Service default/web: admitted");
        assertThat(r.out()).contains("#2 Widget default/w: skipped (kind Widget (example.com/v1) is not one Egress "
                + "Guard evaluates)");
        assertThat(r.out()).endsWith("3 objects: 1 admitted, 1 denied, 1 skipped\n");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void checkJsonHasTheDocumentedShape() throws Exception {
        Run r = run("check", "-o", "json", "--namespace", "shop", DATA.resolve("mixed.yaml").toString());
        assertThat(r.exit()).isEqualTo(1);
        JsonNode report = new ObjectMapper().readTree(r.out());
        JsonNode first = report.path("results").get(0);
        assertThat(first.path("source").asText()).isEqualTo(DATA.resolve("mixed.yaml") + "#0");
        assertThat(first.path("apiVersion").asText()).isEqualTo("apps/v1");
        assertThat(first.path("kind").asText()).isEqualTo("Deployment");
        assertThat(first.path("namespace").asText()).isEqualTo("team-a");
        assertThat(first.path("name").asText()).isEqualTo("agent");
        assertThat(first.path("allowed").asBoolean()).isFalse();
        JsonNode v = first.path("violations").get(0);
        assertThat(v.path("policy").asText()).isEqualTo("no-host-network");
        assertThat(v.path("path").asText()).isEqualTo("spec.template.spec.hostNetwork");
        assertThat(v.path("message").asText()).startsWith("true shares the node network namespace");
        assertThat(report.path("results").get(1).path("namespace").asText()).isEqualTo("shop");
        assertThat(report.path("results").get(1).path("allowed").asBoolean()).isTrue();
        assertThat(report.path("summary").toString()).isEqualTo("{\"objects\":3,\"denied\":1,\"skipped\":1}");
    }

    @Test
    void checkUnwrapsListsAndReadsJson() throws Exception {
        Run r = run("check", "-o", "json", DATA.resolve("list.json").toString());
        JsonNode results = new ObjectMapper().readTree(r.out()).path("results");
        assertThat(results).hasSize(2);
        assertThat(results.get(0).path("source").asText()).endsWith("list.json#0");
        assertThat(results.get(0).path("allowed").asBoolean()).isFalse();
        assertThat(results.get(1).path("source").asText()).endsWith("list.json#1");
        assertThat(results.get(1).path("allowed").asBoolean()).isTrue();
    }

    @Test
    void checkReadsStandardInput() {
        Run r = runWithStdin("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: b}]\n",
                "check", "-");
        assertThat(r.exit()).isEqualTo(0);
        assertThat(r.out()).startsWith("-#0 Pod default/p: admitted\n");
    }

    @Test
    void checkWalksFoldersRecursively(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("a/b"));
        Files.copy(DATA.resolve("list.json"), dir.resolve("a/b/list.json"));
        Files.writeString(dir.resolve("a/notes.txt"), "not a manifest");
        Run r = run("check", dir.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains("list.json#0 Pod default/a: denied");
    }

    @Test
    void declaredHostsAmongTheCheckedManifestsAreProtected(@TempDir Path dir) throws Exception {
        Path platform = dir.resolve("platform.yaml");
        Files.writeString(platform, "apiVersion: egressguard.io/v1alpha1\nkind: ExternalService\nmetadata:\n"
                + "  name: httpbin.org\n  namespace: global\nspec:\n  hosts: [httpbin.org]\n  ports:\n"
                + "  - {number: 443, name: https, protocol: HTTPS, clientsideTls: {}, egressGatewayRoutes:"
                + " {portMatch: 80, virtualGatewayRefs: [{name: egress-vg, namespace: istio-egress}]}}\n");
        Path tenant = dir.resolve("tenant.yaml");
        Files.writeString(tenant, "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n"
                + "  name: plain\n  namespace: shop\nspec:\n  host: httpbin.org\n"
                + "  trafficPolicy: {tls: {mode: DISABLE}}\n");
        assertThat(run("check", tenant.toString()).exit()).isEqualTo(0);
        Run both = run("check", platform.toString(), tenant.toString());
        assertThat(both.exit()).isEqualTo(1);
        assertThat(both.out()).contains("[no-external-host-override] spec.host: \"httpbin.org\" names a host declared");
    }

    @Test
    void yamlSyntaxErrorExits2WithFileAndLine() {
        Run r = run("check", DATA.resolve("broken.yaml").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith("error: " + DATA.resolve("broken.yaml") + ":5:");
        assertThat(r.err()).contains("YAML syntax error");
    }

    @Test
    void duplicateKeysAreAnError() {
        Run r = run("check", DATA.resolve("duplicate-key.yaml").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("duplicate-key.yaml:5:3: duplicate key \"name\"");
    }

    @Test
    void invalidUtf8IsAnError(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.yaml");
        Files.write(f, new byte[] {'k', ':', ' ', (byte) 0xC3, (byte) 0x28, '\n'});
        Run r = run("check", f.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("not valid UTF-8");
    }

    @Test
    void missingFileAndBadUsageExit2() {
        assertThat(run("check", "does/not/exist.yaml").exit()).isEqualTo(2);
        assertThat(run("check").exit()).isEqualTo(2);
        assertThat(run("check", "-o", "xml", DATA.resolve("list.json").toString()).exit()).isEqualTo(2);
        assertThat(run("no-such-command").exit()).isEqualTo(2);
    }

    @Test
    void brokenUserPolicyExits2WithCaret(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("my-rule");
        Files.createDirectories(p);
        Files.writeString(p.resolve("policy.yaml"), "apiVersion: admissionregistration.k8s.io/v1\n"
                + "kind: ValidatingAdmissionPolicy\nmetadata:\n  name: my-rule\nspec:\n  matchConstraints:\n"
                + "    resourceRules:\n    - apiGroups: [\"\"]\n      apiVersions: [\"v1\"]\n"
                + "      resources: [\"pods\"]\n      operations: [\"CREATE\"]\n  validations:\n"
                + "  - expression: \"object.spec.containers.all(c, c.image.startsWith('x'\"\n");
        Run r = run("check", "--policies", dir.toString(), DATA.resolve("list.json").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains(p.resolve("policy.yaml") + ":13:");
        assertThat(r.err()).contains(" |   - expression: \"object.spec.containers.all(c, c.image.startsWith('x'\"");
        assertThat(r.err()).contains("^");
    }

    @Test
    void userPolicyReplacesBuiltInWithTheSameId(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("no-host-network");
        Files.createDirectories(p);
        Files.writeString(p.resolve("policy.yaml"), "apiVersion: admissionregistration.k8s.io/v1\n"
                + "kind: ValidatingAdmissionPolicy\nmetadata:\n  name: no-host-network\nspec:\n  matchConstraints:\n"
                + "    resourceRules:\n    - apiGroups: [\"\"]\n      apiVersions: [\"v1\"]\n"
                + "      resources: [\"pods\"]\n      operations: [\"CREATE\"]\n  validations:\n"
                + "  - expression: \"true\"\n");
        Run r = run("check", "--policies", dir.toString(), DATA.resolve("list.json").toString());
        assertThat(r.exit()).isEqualTo(0);
    }

    @Test
    void testCommandRunsThePolicyFixtures() {
        Run r = run("test", "policies");
        assertThat(r.exit()).as(r.out()).isEqualTo(0);
        assertThat(r.out()).startsWith("POLICY");
        assertThat(r.out()).contains("no-host-network").containsPattern("\\d+ passed, 0 failed\n$");
    }
}
