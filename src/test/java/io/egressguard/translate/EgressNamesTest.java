package io.egressguard.translate;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EgressNamesTest {

    @Test
    void namesFollowTheirKindsPattern() {
        assertThat(EgressNames.serviceEntry("global", "httpbin.org")).isEqualTo("externalservice-httpbin-org-global");
        assertThat(EgressNames.virtualService("httpbin.org")).isEqualTo("egress-httpbin-org");
        assertThat(EgressNames.virtualService("*.wikipedia.org")).isEqualTo("egress-wildcard-wikipedia-org");
        assertThat(EgressNames.gateway("istio-egress", "egress-vg")).isEqualTo("virtualgateway-egress-vg-istio-egress");
        assertThat(EgressNames.authorizationPolicy("istio-egressgateway")).isEqualTo("egress-guard-istio-egressgateway");
        assertThat(EgressNames.subset("api.github.com")).isEqualTo("api-github-com");
        assertThat(EgressNames.port("HTTPS", 443)).isEqualTo("https-443");
    }

    @Test
    void labelsAreDns1123() {
        assertThat(EgressNames.label("--Foo..Bar__baz--")).isEqualTo("foo-bar-baz");
    }

    @Test
    void longNamesAreCutWithAHashThatKeepsThemApart() {
        String a = EgressNames.serviceEntry("global", "a".repeat(80) + ".example.com");
        String b = EgressNames.serviceEntry("global", "a".repeat(80) + ".example.org");
        assertThat(a).hasSize(63).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?").matches(".*-[0-9a-f]{8}");
        assertThat(b).hasSize(63);
        assertThat(a).isNotEqualTo(b);
        assertThat(EgressNames.serviceEntry("global", "a".repeat(80) + ".example.com")).isEqualTo(a);
    }
}
