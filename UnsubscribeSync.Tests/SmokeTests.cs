namespace UnsubscribeSync.Tests;

public class SmokeTests
{
    [Fact]
    public void Build_Always_Runs()
    {
        Assert.Equal(2, 1 + 1);
    }
}
