// A .NET Trash Can client of the Enterprise door, compiled against the proxy Mono's wsdl tool generates from the
// served SCEnterprise.wsdl: LogOn, GetObjects from the Trash, then SetObjectProperties sending back exactly the
// MetaData and Targets GetObjects gave (XmlSerializer writes every unset nillable member as xsi:nil="true"),
// then a move to another issue. Prints key=value lines for the test.
using System;
using Enterprise;

class EnterpriseClient
{
    static string IssueOf(Target[] targets)
    {
        return targets == null || targets.Length == 0 || targets[0].Issue == null ? "none" : targets[0].Issue.Id;
    }

    static int Main(string[] args)
    {
        string url = args[0], user = args[1], password = args[2], id = args[3], issue = args[4];
        SmartConnectionService service = new SmartConnectionService();
        service.Url = url;

        string ticket = null;
        object namedQueries, settings, users, userGroups, membership, objectTypeProperties, actionProperties, terms;
        Feature[] featureSet;
        string[] limitationSet;
        ServerInfo serverInfo;
        FeatureProfile[] featureProfiles;
        User currentUser;
        MessageQueueConnection[] messageQueueConnections;
        string messageQueue;
        service.LogOn(user, password, ref ticket, null, "mono", null, "trashd-test", "1.0", null, null, null, false,
            new string[] { "Publications", "CurrentUser" }, out namedQueries, out featureSet, out limitationSet,
            out serverInfo, out settings, out users, out userGroups, out membership, out objectTypeProperties,
            out actionProperties, out terms, out featureProfiles, out currentUser, out messageQueueConnections,
            out messageQueue);
        Console.WriteLine("logon=" + (ticket != null && ticket.Length == 40));

        AreaType[] trash = new AreaType[] { AreaType.Trash };
        Enterprise.Object found = service.GetObjects(ticket, new string[] { id }, false, RenditionType.none, null, null, trash, null)[0];
        MetaData metaData = found.MetaData;
        Target[] targets = found.Targets;
        Console.WriteLine("get.category=" + (metaData.BasicMetaData.Category == null ? "nil" : metaData.BasicMetaData.Category.Id));
        Console.WriteLine("get.deletor=" + metaData.WorkflowMetaData.Deletor);
        Console.WriteLine("get.issue=" + IssueOf(targets));

        // the round trip: what GetObjects gave goes back unchanged
        service.SetObjectProperties(ticket, id, ref metaData, ref targets, trash);
        Console.WriteLine("roundtrip.name=" + metaData.BasicMetaData.Name);
        Console.WriteLine("roundtrip.issue=" + IssueOf(targets));

        // a move to another issue, the rest of the metadata as it was
        Issue target = new Issue();
        target.Id = issue;
        target.Name = "";
        Target moved = new Target();
        moved.Issue = target;
        targets = new Target[] { moved };
        service.SetObjectProperties(ticket, id, ref metaData, ref targets, trash);
        Console.WriteLine("moved.issue=" + IssueOf(targets));
        Console.WriteLine("moved.deletor=" + metaData.WorkflowMetaData.Deletor);
        return 0;
    }
}
